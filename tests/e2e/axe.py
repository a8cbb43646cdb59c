"""axe-core (installed by `npm ci`) run in the page of a test, state by state, light and dark."""

import json
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


async def axe_violations(page) -> list[dict]:
    """Run axe-core in the page.

    The script is evaluated through the DevTools protocol, which the site's CSP
    (`script-src 'self'`, rightly) does not let a <script> element do.
    """
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def describe(violations) -> str:
    return json.dumps(
        [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
          "nodes": [n["target"] for n in v["nodes"]][:5]} for v in violations],
        indent=1,
    )


class Axe:
    """`await axe.check("state")` in each state a test reaches, then `axe.assert_clean()`: every serious or
    critical violation of every state is reported at once. Use a context with reduced_motion="reduce": axe
    would otherwise measure a button's colours halfway from one theme to the other."""

    def __init__(self, page):
        self.page = page
        self.seen: dict[str, list[dict]] = {}

    async def check(self, state: str) -> None:
        backgrounds = set()
        for scheme in ("light", "dark"):
            await self.page.emulate_media(color_scheme=scheme)
            backgrounds.add(await self.page.evaluate("getComputedStyle(document.body).backgroundColor"))
            self.seen[f"{state} ({scheme})"] = await axe_violations(self.page)
        assert len(backgrounds) == 2, "the dark theme did not apply"

    def assert_clean(self) -> None:
        blocking = {state: [v for v in found if v["impact"] in BLOCKING] for state, found in self.seen.items()}
        blocking = {state: found for state, found in blocking.items() if found}
        assert not blocking, "\n".join(f"{state}: {describe(found)}" for state, found in blocking.items())
