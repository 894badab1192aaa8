"""Migration operations that exist only on PostgreSQL.

Expression indexes with operator classes (``UPPER(name) text_pattern_ops`` for a
case-insensitive prefix search) and trigram indexes (``pg_trgm``, for ``LIKE '%…%'``) have no
SQLite equivalent; on SQLite the operation does nothing and the plain indexes of the models
serve the development database. They are not part of the models' state, so
``makemigrations --check`` is unaffected.
"""

from django.db import migrations


def postgres_sql(forward: list[str], backward: list[str]) -> migrations.RunPython:
    def run(statements):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor != "postgresql":
                return
            for statement in statements:
                schema_editor.execute(statement)

        return apply

    return migrations.RunPython(run(forward), run(backward), elidable=False)


def trigram_extension() -> migrations.RunPython:
    """``pg_trgm`` is a trusted extension (PostgreSQL 13+): the database owner may create it."""
    return postgres_sql(["CREATE EXTENSION IF NOT EXISTS pg_trgm"], [])
