"""Datasets: TensorFlow Playground generators, extra shapes, real sets and CSV files."""

from sigmalab.data.csv_file import load_csv, read_columns
from sigmalab.data.dataset import DataError, Dataset
from sigmalab.data.preprocessing import standardize
from sigmalab.data.registry import available, load

__all__ = ["DataError", "Dataset", "available", "load", "load_csv", "read_columns", "standardize"]
