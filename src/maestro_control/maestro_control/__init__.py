"""Arm, gripper and mobile-base motion: IK, OMPL planning, time parameterisation, execution, e-stop."""
