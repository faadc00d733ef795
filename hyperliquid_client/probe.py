"""placeholder"""
import argparse
from typing import TextIO
def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass
def run(args: argparse.Namespace, out: TextIO) -> int:
    return 0
