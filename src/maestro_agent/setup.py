"""Build script for the maestro_agent ament_python package."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "maestro_agent"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/config", glob("config/*")),
    ],
    package_data={PACKAGE: ["py.typed", "prompts/*.md", "models/*.md", "generated/*"]},
    include_package_data=True,
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="Maestro developers",
    maintainer_email="maestro@example.org",
    description=open("package.xml").read().split("<description>")[1].split("</description>")[0],
    license="Apache-2.0",
    entry_points={"console_scripts": [
        "agent_node = maestro_agent.node:main",
        "maestro_agent_cli = maestro_agent.cli:main",
    ]},
)
