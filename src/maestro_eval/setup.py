"""Build script for the maestro_eval ament_python package."""
from setuptools import find_packages, setup

PACKAGE = "maestro_eval"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    package_data={PACKAGE: ["py.typed"]},
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="Maestro developers",
    maintainer_email="maestro@example.org",
    description="STAR-Gen benchmark runner, harness ablation, self-evolution runs, reports and data export.",
    license="Apache-2.0",
    entry_points={"console_scripts": []},
)
