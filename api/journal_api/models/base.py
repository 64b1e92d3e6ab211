"""The declarative base every ORM model inherits, with a constraint naming convention.

The naming convention gives every index and constraint a predictable name, so Alembic
migrations can drop or alter them by name. All model modules register on `Base.metadata`;
`models/registry.py` imports them all for Alembic and the app.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: DateTime(timezone=True)}


metadata = Base.metadata


def created_at_column() -> Mapped[dt.datetime]:
    """A `created_at timestamptz NOT NULL DEFAULT now()` column."""
    return mapped_column(server_default=func.now())
