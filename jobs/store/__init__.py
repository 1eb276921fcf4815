"""Storage: SQLAlchemy Core schema, Alembic migrations, transactions and shared reads."""
