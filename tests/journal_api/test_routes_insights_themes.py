"""`GET /api/v1/insights/themes` on entries analysed by the real worker and model server:

- two clearly different subjects (baking bread, training on the bike) come out as two
  themes of eight entries each, labelled with their own words, each shown with entries of
  its own subject nearest its centre; a repeated call is served from the cache;
- with fewer than ten analysed entries nothing is claimed;
- the entry cap is bounded (422 outside 10..1000).
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from journal_api import settings as settings_module

from tests.journal_api import histories
from tests.journal_api.conftest import MakeUser

THEMES = "/api/v1/insights/themes"
BAKING = (
    "Baked sourdough bread this morning; the dough rose beautifully in the warm kitchen.",
    "Tried a new rye bread recipe, kneading the dough took ages but the crust was perfect.",
    "My sourdough starter finally bubbled, so I baked two loaves of bread before lunch.",
    "The bread came out of the oven too dense; next time the dough needs a longer rise.",
    "Shaped baguettes from yesterday's dough and baked them in the hot oven, lovely crust.",
    "Fed the sourdough starter and planned tomorrow's bake: a seeded loaf of bread.",
    "Kneaded brioche dough with lots of butter, the whole kitchen smelled of baking bread.",
    "Gave a warm loaf of homemade bread to the neighbours; baking is my calm hobby.",
)
CYCLING = (
    "Rode sixty miles on the bike today, the hill climbs burned my legs but I kept pedalling.",
    "Interval training on the bike trainer, five hard efforts and my heart rate peaked.",
    "Fixed a flat tyre on my road bike before the long group ride through the hills.",
    "Cycling into a strong headwind for two hours, average speed dropped but legs held up.",
    "Bought new cleats and pedals for the bike; the ride felt smoother and faster.",
    "Early morning ride, climbed the mountain pass on the bike and descended at full speed.",
    "Recovery spin on the bike, easy cadence, then stretched my sore cycling legs.",
    "Planned my cycling training for the race: three rides a week and one long climb.",
)
BAKING_WORDS = {
    "bread",
    "dough",
    "sourdough",
    "oven",
    "loaf",
    "loaves",
    "baked",
    "baking",
    "kitchen",
}
CYCLING_WORDS = {"bike", "ride", "rode", "cycling", "legs", "miles", "climb", "pedals", "training"}


async def test_two_subjects_make_two_labelled_themes(
    analysis_settings: settings_module.Settings,
    analysis_app: FastAPI,
    analysis_client: httpx.AsyncClient,
    make_analysis_user: MakeUser,
) -> None:
    user = await make_analysis_user()
    ids: dict[str, set[str]] = {"baking": set(), "cycling": set()}
    for baking, cycling in zip(BAKING, CYCLING, strict=True):
        for subject, content in (("baking", baking), ("cycling", cycling)):
            response = await analysis_client.post(
                "/api/v1/entries", json={"content": content}, headers=user.headers
            )
            assert response.status_code == 201, response.text
            ids[subject].add(response.json()["id"])
    await histories.analyse_all(analysis_settings, analysis_app)

    response = await analysis_client.get(THEMES, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["k"], body["entries"]) == ("ok", 2, 16), body
    assert body["silhouette"] >= body["min_silhouette"]
    found = {}
    for theme in body["themes"]:
        members = {r["id"] for r in theme["representatives"]}
        [subject] = [s for s, group in ids.items() if members <= group]
        found[subject] = theme
        assert theme["entries"] == 8
        assert len(theme["representatives"]) == 3
        assert theme["label"] == ", ".join(theme["terms"][:3])
    assert set(found) == {"baking", "cycling"}
    assert set(found["baking"]["terms"][:3]) & BAKING_WORDS
    assert set(found["cycling"]["terms"][:3]) & CYCLING_WORDS
    assert not set(found["baking"]["terms"][:3]) & CYCLING_WORDS

    again = await analysis_client.get(THEMES, headers=user.headers)
    assert again.content == response.content


async def test_few_entries_claim_no_theme(
    analysis_client: httpx.AsyncClient, make_analysis_user: MakeUser
) -> None:
    user = await make_analysis_user()
    response = await analysis_client.get(THEMES, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["entries"], body["themes"]) == ("not_enough_data", 0, [])
    for query in ("entries=9", "entries=1001"):
        response = await analysis_client.get(f"{THEMES}?{query}", headers=user.headers)
        assert response.status_code == 422, query
