"""Page-number pagination with Link headers (RFC 8288): first, prev, next, last."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request
from sqlalchemy import Select, func, select

from ..extensions import db


def _url(page: int, per_page: int) -> str:
    args = request.args.to_dict()
    args.update(page=str(page), per_page=str(per_page))
    return f"{request.base_url}?{urlencode(args)}"


def paginate(stmt: Select, page: int, per_page: int) -> tuple[dict, dict]:
    """Run a page of `stmt`; return (body, headers) for flask-smorest."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    offset = (page - 1) * per_page  # may exceed what the database driver takes (64 bits): past the end anyway
    items = db.session.scalars(stmt.limit(per_page).offset(offset)).all() if offset < total else []
    return page_of(items, total, page, per_page)


def paginate_list(rows: list, page: int, per_page: int) -> tuple[dict, dict]:
    """A page of an already filtered and sorted list."""
    return page_of(rows[(page - 1) * per_page:page * per_page], len(rows), page, per_page)


def page_of(items: list, total: int, page: int, per_page: int) -> tuple[dict, dict]:
    last = max(1, -(-total // per_page))
    links = [f'<{_url(1, per_page)}>; rel="first"', f'<{_url(last, per_page)}>; rel="last"']
    if page > 1:
        links.append(f'<{_url(min(page - 1, last), per_page)}>; rel="prev"')
    if page < last:
        links.append(f'<{_url(page + 1, per_page)}>; rel="next"')
    return ({"items": items, "page": page, "per_page": per_page, "total": total},
            {"Link": ", ".join(links), "X-Total-Count": str(total)})
