"""The access lists the hub has issued, per site: current records and their history.

``AclEntry`` holds each site's list as last built (one 16-byte record per card key);
``AclChange`` logs every record added, replaced (``record`` set) or removed (``record``
null) with the version that did it, so the hub can send a gate at version N exactly
the changes N -> current, and can tell whose card a key was after it left the list.
Built and read by :mod:`hub.access`.
"""

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.models.base import BigId


class AclEntry(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("site_id", "card_key"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    site_id: int = Field(foreign_key="site.id", index=True)
    card_key: str = Field(max_length=16)
    record: str = Field(max_length=32, description="the whole record, hex")
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    card_id: int | None = Field(default=None, foreign_key="card.id")
    version: int


class AclChange(SQLModel, table=True):
    __table_args__ = (
        Index("ix_aclchange_site_version", "site_id", "version"),
        Index("ix_aclchange_site_card_key", "site_id", "card_key"),
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    site_id: int = Field(foreign_key="site.id")
    version: int
    card_key: str = Field(max_length=16)
    record: str | None = Field(default=None, max_length=32)
    member_id: int | None = Field(default=None, description="whose card it was")
