"""The banner's script and stylesheet as a vendor's visitors fetch them: from another origin,
without a token, small, cacheable, and holding nothing from anyone else (issue 20, point 2).

The files do not depend on the store, so SQLite alone serves them here; the banner's journey
in a real browser is tests/browser/banner/."""

from __future__ import annotations

import re

from tests.e2e.conftest import Api

ASSETS = {
    "/banner.js": "text/javascript; charset=utf-8",
    "/banner.css": "text/css; charset=utf-8",
}


def test_the_script_and_stylesheet_are_served_to_anyone_with_their_types(
    sqlite_api: Api,
) -> None:
    visitor = sqlite_api.anonymous()
    for path, media_type in ASSETS.items():
        response = visitor.get(path, headers={"Origin": "https://shop.example"})

        assert response.status_code == 200, path
        assert response.headers["content-type"] == media_type
        # A browser refuses a script of any other type once nosniff is set (as it is).
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in response.headers


def test_script_and_stylesheet_together_stay_under_20_kb(sqlite_api: Api) -> None:
    visitor = sqlite_api.anonymous()
    sizes = {path: len(visitor.get(path).content) for path in ASSETS}
    assert sum(sizes.values()) < 20 * 1024, sizes


def test_another_sites_page_may_load_them(sqlite_api: Api) -> None:
    """The ledger's answers refuse to be framed; that must not stop a <script> or <link>
    embedding them, nor a vendor pinning the script with Subresource Integrity."""
    visitor = sqlite_api.anonymous()
    for path in ASSETS:
        headers = visitor.get(path, headers={"Origin": "https://shop.example"}).headers

        assert headers["cross-origin-resource-policy"] == "cross-origin"
        assert headers["access-control-allow-origin"] == "*"
        assert "cross-origin-embedder-policy" not in headers
        assert "cross-origin-opener-policy" not in headers


def test_browsers_keep_them_for_minutes_and_revalidate_with_the_etag(sqlite_api: Api) -> None:
    visitor = sqlite_api.anonymous()
    for path in ASSETS:
        first = visitor.get(path)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, max-age=300"

        again = visitor.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        # A list of tags, and the weak form a proxy may make of it, are matched too.
        listed = visitor.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
        assert listed.status_code == 304

        stale = visitor.get(path, headers={"If-None-Match": '"an-older-version"'})
        assert stale.status_code == 200
        assert stale.content == first.content


def test_the_script_and_the_stylesheet_have_different_etags(sqlite_api: Api) -> None:
    visitor = sqlite_api.anonymous()
    etags = {visitor.get(path).headers["etag"] for path in ASSETS}
    assert len(etags) == len(ASSETS)


def test_they_name_no_other_site_and_load_nothing_from_anywhere_else(sqlite_api: Api) -> None:
    """Every address the script uses is derived from its own src: no third party, no CDN."""
    visitor = sqlite_api.anonymous()
    for path in ASSETS:
        text = visitor.get(path).text
        assert re.findall(r"https?://|[\"'(]//", text) == [], path
    stylesheet = visitor.get("/banner.css").text
    assert "@import" not in stylesheet
    assert "url(" not in stylesheet


def test_the_script_never_turns_text_into_markup_or_code(sqlite_api: Api) -> None:
    """A site's texts come from the ledger's config: put in as text, they can never run."""
    script = sqlite_api.anonymous().get("/banner.js").text
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                      "eval(", "new Function", "setAttribute(\"on", ".onclick"):
        assert forbidden not in script, forbidden
    # Timers are given functions, never strings of code.
    assert re.findall(r"setTimeout\(\s*[\"'`]", script) == []
    assert "textContent" in script


def test_every_class_and_id_the_banner_uses_is_prefixed_with_ledger(sqlite_api: Api) -> None:
    """So the host page's CSS does not reach the banner, and the banner's does not reach it."""
    visitor = sqlite_api.anonymous()
    stylesheet = re.sub(r"/\*.*?\*/", "", visitor.get("/banner.css").text, flags=re.S)
    selectors = " ".join(re.findall(r"([^{};]+)\{", stylesheet))
    names = set(re.findall(r"[.#]([A-Za-z_][\w-]*)", selectors))
    assert names and all(name.startswith("ledger-") for name in names), names
    script = visitor.get("/banner.js").text
    made = set(re.findall(r"(?:className|\.id) = \"([^\"]+)\"", script))
    made |= set(re.findall(r"element\(\"\w+\", \"([^\"]+)\"", script))
    made |= set(re.findall(r"button\(\"\w+\", \"([^\"]+)\"", script))
    classes = {name for names in made for name in names.split()}
    assert classes and all(name.startswith("ledger-") for name in classes), classes
