"""The customer portal: server-rendered pages under /portal for a tenant's administrators."""

from api.portal.router import router

__all__ = ["router"]
