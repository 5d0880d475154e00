"""Which seeds screened: chose a budget, a variant or a setting, and so cannot also confirm that choice.

A seed whose curves picked the budget, or whose screen of six variants picked the winner, favours the choice it
made; counted again as evidence for that choice it biases the test towards it. A results folder therefore keeps
its screens in `screens.json`, one record per screen: the seeds, what they chose, and when and from which code
the record was made. `harness sweep --screen WHY` records before it trains (the record predates the outcome);
`harness screened RESULTS --seeds S --why WHY` records a screen after the fact. `harness report` then tests on
the seeds no screen used, and `harness sweep --until-decided` neither starts from nor adds a screened seed.
Records are only ever appended, under a lock, and the file is rewritten atomically; a screen already on
record (a resumed sweep's) is not recorded twice.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from harness import atomicio
from harness.errors import ConfigError, RunError

FILE = "screens.json"


@dataclass(frozen=True)
class Screen:
    seeds: tuple[int, ...]
    why: str  # what the seeds chose, in the user's words
    variants: tuple[str, ...] = ()  # the variants screened (empty: not said)
    profile: str = ""
    recorded: str = ""  # UTC, ISO 8601
    code: str = ""  # the commit of the code that recorded it (a sweep's screen: the code that trained it)

    def describe(self) -> str:
        seeds = ", ".join(map(str, self.seeds))
        return f"seed{'s' * (len(self.seeds) > 1)} {seeds} screened ({self.why})"


def read(folder: Path | str) -> list[Screen]:
    """The screens recorded in `folder` (none if it has no screens.json); a RunError naming the file if damaged."""
    path = Path(folder) / FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise RunError(f"{path}: cannot read ({e.strerror})") from None
    try:
        records = json.loads(text)["screens"]
        return [Screen(seeds=tuple(int(s) for s in r["seeds"]), why=str(r["why"]),
                       variants=tuple(str(v) for v in r.get("variants", ())), profile=str(r.get("profile", "")),
                       recorded=str(r.get("recorded", "")), code=str(r.get("code", ""))) for r in records]
    except (ValueError, TypeError, KeyError):
        raise RunError(f"{path}: not a screens record (expected {{\"screens\": [{{\"seeds\": [...], \"why\": ...}}]}}"
                       "); fix or remove it") from None


def record(folder: Path | str, seeds: list[int], why: str, *, variants: tuple[str, ...] = (),
           profile: str = "") -> Screen:
    """Append a screen to `folder`/screens.json (made if absent) and return it."""
    from harness import provenance

    why = " ".join(str(why).split())
    if not why:
        raise ConfigError("--screen/--why: say what the screened seeds chose (e.g. 'the budget, from seed-0 curves')")
    if not seeds:
        raise ConfigError("a screen needs at least one seed")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    commit = provenance.code().get("commit") or ""
    screen = Screen(seeds=tuple(sorted(set(int(s) for s in seeds))), why=why, variants=tuple(variants),
                    profile=profile, code=commit,
                    recorded=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    with atomicio.waiting_lock(folder / f".{FILE}.lock"):
        screens = read(folder)
        same = [s for s in screens if (s.seeds, s.why, s.variants, s.profile) == (screen.seeds, screen.why,
                                                                                  screen.variants, screen.profile)]
        if same:  # a resumed `sweep --screen`: the screen is already on record, from when it began
            return same[0]
        atomicio.write_json(folder / FILE, {"screens": [_as_json(s) for s in screens + [screen]]})
    return screen


def screened_seeds(screens: list[Screen]) -> set[int]:
    return {s for screen in screens for s in screen.seeds}


def confirmatory(seeds: list[int], screens: list[Screen]) -> list[int]:
    """`seeds` less every seed a screen used, in order."""
    used = screened_seeds(screens)
    return [s for s in seeds if s not in used]


def _as_json(screen: Screen) -> dict:
    out = asdict(screen)
    out["seeds"], out["variants"] = list(screen.seeds), list(screen.variants)
    return out
