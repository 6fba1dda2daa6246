"""The person's own page in the privacy center (`/privacy-center/me`) and what they do there:
change a consent, download their export, file a request (api/privacy_center/self_service.py).

Every POST needs the session and its CSRF token, and names a subject that must be one of the
session's (else 404: nothing tells whether another id exists). A subject erased since the
session began is no longer shown, nor accepted. A refusal of the domain (a closed tenant, a
second open request of a kind) is shown on the page with the status the API would give; no
refused form records anything. Each write is waited for on the read side before the page
shows it again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from domain.errors import DomainError
from domain.vocabulary import Channel, DataRequestKind, Purpose

from api.http.problems import domain_status
from api.privacy_center import self_service
from api.privacy_center.pages import Center, CenterDep, CenterRoute, FormField, render, see_other
from api.privacy_center.texts import language
from api.services.receipts import controller_from_settings
from api.services.visibility import closed_status
from projections.storage.privacy_center_sessions import CenterSession

router = APIRouter(route_class=CenterRoute, include_in_schema=False)
NOTICES = {"consent-saved": "consent_saved", "request-filed": "request_filed"}


def _lang(request: Request, asked: str | None) -> str:
    return language(asked, request.headers.get("accept-language"))


def records(center: Center, session: CenterSession) -> list[dict[str, Any]]:
    """Each of the session's subjects that is not erased: consents per purpose and channel,
    its tenant (and whether it is closed), its requests."""
    found = []
    for subject_id in session.subject_ids:
        profile = center.reads.subject_profile(subject_id)
        if profile is None or profile.get("erased"):
            continue
        tenant_id = profile.get("tenant_id")
        tenant = center.reads.tenant(UUID(str(tenant_id))) if tenant_id else None
        consents = profile.get("consents", {})
        found.append({
            "id": str(subject_id),
            "tenant": tenant["name"] if tenant else None,
            "closed": closed_status(center.reads, UUID(str(tenant_id))) if tenant_id else None,
            "consents": [(p.value, consents.get(p.value), _per_channel(consents.get(p.value)))
                         for p in Purpose],
            "requests": center.reads.data_requests(subject_id=subject_id, limit=100)["items"],
        })
    return found


def _per_channel(summary: dict[str, Any] | None) -> dict[str, str]:
    """Each channel's standing status, or nothing when the last decision, for every channel,
    says it all."""
    if summary is None:
        return {}
    standing = {channel: d["status"] for channel, d in summary["channels"].items()}
    if summary["channel"] is None and set(standing.values()) <= {summary["status"]}:
        return {}
    return standing


def me_page(
    request: Request, center: Center, session: CenterSession, lang: str, status: int = 200,
    **context: Any,
) -> HTMLResponse:
    return render(
        request, lang, "privacy_center/me.html", status, session=session,
        csrf_token=session.csrf_token, records=records(center, session),
        channels=[c.value for c in Channel], kinds_offered=[k.value for k in DataRequestKind],
        formats=self_service.EXPORT_FORMATS, version=center.settings.privacy_notice_version,
        **context,
    )


@router.get("/me", response_class=HTMLResponse)
def me(request: Request, center: CenterDep, lang: str | None = None, notice: str | None = None) -> Response:
    lang = _lang(request, lang)
    session = center.session(request)
    if session is None:
        return see_other(f"/privacy-center?lang={lang}")
    return me_page(request, center, session, lang, notice=NOTICES.get(notice or ""))


def _checked(
    request: Request, center: Center, lang: str, csrf_token: str | None, subject_id: str | None
) -> tuple[CenterSession, UUID] | HTMLResponse:
    """The session and the form's subject, or the page that refuses the form."""
    session = center.session(request)
    if session is None:
        return render(request, lang, "privacy_center/message.html", 401, error="session_ended")
    if not session.accepts(csrf_token):
        return me_page(request, center, session, lang, 403, error="form_expired")
    held = session.holds(subject_id)
    profile = center.reads.subject_profile(held) if held is not None else None
    if held is None or profile is None or profile.get("erased"):
        return me_page(request, center, session, lang, 404, error="not_yours")
    return session, held


def _refused(
    request: Request, center: Center, session: CenterSession, lang: str, error: DomainError
) -> HTMLResponse:
    return me_page(
        request, center, session, lang, domain_status(error), error="refused",
        reason=error.detail,
    )


@router.post("/me/consents", response_class=HTMLResponse)
def change_consent(
    request: Request, center: CenterDep, csrf_token: FormField = None,
    subject_id: FormField = None, purpose: FormField = None, action: FormField = None,
    channel: FormField = None, lang: FormField = None,
) -> Response:
    lang = _lang(request, lang)
    checked = _checked(request, center, lang, csrf_token, subject_id)
    if isinstance(checked, HTMLResponse):
        return checked
    session, held = checked
    if action not in ("give", "withdraw"):
        return me_page(request, center, session, lang, 422, error="refused",
                       reason="action must be give or withdraw (action)")
    try:
        outcome = self_service.change_consent(
            center.ledger, held, purpose or "", action == "give", channel or None,
            center.settings.privacy_notice_version,
        )
    except DomainError as error:
        return _refused(request, center, session, lang, error)
    center.reads.wait_for(outcome.position, center.settings.read_wait_seconds)
    return see_other(f"/privacy-center/me?lang={lang}&notice=consent-saved")


@router.post("/me/requests", response_class=HTMLResponse)
def file_request(
    request: Request, center: CenterDep, csrf_token: FormField = None,
    subject_id: FormField = None, kind: FormField = None, details: FormField = None,
    lang: FormField = None,
) -> Response:
    lang = _lang(request, lang)
    checked = _checked(request, center, lang, csrf_token, subject_id)
    if isinstance(checked, HTMLResponse):
        return checked
    session, held = checked
    systems = center.container.systems().to_be_told()
    try:
        outcome = self_service.file_request(
            center.ledger, held, kind or "", (details or "").strip() or None, systems
        )
    except DomainError as error:
        return _refused(request, center, session, lang, error)
    center.reads.wait_for(outcome.position, center.settings.read_wait_seconds)
    return see_other(f"/privacy-center/me?lang={lang}&notice=request-filed")


@router.post("/me/export")
def download_export(
    request: Request, center: CenterDep, csrf_token: FormField = None,
    subject_id: FormField = None, format: FormField = None, lang: FormField = None,
) -> Response:
    lang = _lang(request, lang)
    checked = _checked(request, center, lang, csrf_token, subject_id)
    if isinstance(checked, HTMLResponse):
        return checked
    session, held = checked
    systems = center.container.systems().to_be_told()
    try:
        export, _ = self_service.download_export(
            center.ledger, center.container.delivered_files(), held, format or "",
            controller_from_settings(center.settings), systems,
        )
    except DomainError as error:
        return _refused(request, center, session, lang, error)
    return Response(
        export.content, media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Content-SHA256": export.sha256,  # what the ledger recorded as delivered
            "Cache-Control": "no-store",
        },
    )
