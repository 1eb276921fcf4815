"""Pure modelling: DataFrames in, DataFrames out.

No database, HTTP, Streamlit or scheduler imports here (tests/test_architecture.py checks).
"""
