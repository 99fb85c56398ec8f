"""Datasets: TensorFlow Playground generators, extra shapes, real sets and CSV files."""

from .csv_file import load_csv, read_columns
from .dataset import DataError, Dataset
from .preprocessing import standardize
from .registry import available, load

__all__ = ["DataError", "Dataset", "available", "load", "load_csv", "read_columns", "standardize"]
