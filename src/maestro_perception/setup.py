"""Build script for the maestro_perception ament_python package."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "maestro_perception"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*")),
        (f"share/{PACKAGE}/models",
         glob("models/*.onnx") + glob("models/*.pt") + glob("models/*.json") + glob("models/*.md")),
    ],
    package_data={PACKAGE: ["py.typed"]},
    include_package_data=True,
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="Maestro developers",
    maintainer_email="maestro@example.org",
    description=open("package.xml").read().split("<description>")[1].split("</description>")[0],
    license="Apache-2.0",
    entry_points={"console_scripts": [
        "sim_gt_node = maestro_perception.sim_gt_node:main",
        "yolo_node = maestro_perception.yolo_node:main",
        "vlm_pointing_node = maestro_perception.vlm_pointing_node:main",
        "perception_manager = maestro_perception.manager_node:main",
        "train_detector = maestro_perception.train:main",
    ]},
)
