"""PostgreSQL and MySQL/MariaDB without Docker: SQLAlchemy reflection gives the catalog Airbyte's connector would."""
