"""leedl: autograded exercises and grading for the course notes 李宏毅深度學習教程."""

__version__ = "0.1.0"
