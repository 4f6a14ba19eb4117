"""The key's roles and expiry (`/v1/roles`) and the seller's company and subscription."""
from __future__ import annotations

import json

from monitor.ozon import endpoints as api
from monitor.sources.base import ACCOUNT_INFO, Pull
from monitor.store import iso


def pull_access(p: Pull) -> int:
    info = api.roles(p.client)
    return p.save(ACCOUNT_INFO, [{"account": p.account, "key_expires_at": iso(info.expires_at),
                                  "roles": json.dumps([r.model_dump() for r in info.roles]), "updated_at": iso(p.now)}])


def pull_seller_info(p: Pull) -> int:
    info = api.seller_info(p.client)
    return p.save(ACCOUNT_INFO, [{"account": p.account, "company": info.company.name or info.company.legal_name,
                                  "subscription": info.subscription.type,
                                  "is_premium": int(info.subscription.is_premium), "updated_at": iso(p.now)}])


def role_names(roles: str | None) -> str:
    """The names of the roles stored for the key, for a message about a missing one."""
    return ", ".join(r["name"] for r in json.loads(roles)) if roles else "unknown"
