"""Structure-aware fuzzing of every format handler with mutated real corpus files.

Each case mutates one to four length, count, offset or CRC fields (or truncates, duplicates or deletes
whole segments, chunks and boxes, or loops a TIFF IFD chain) of a real file, then inspects and cleans it.
The only allowed outcomes are a verified output or a WatcherError: any other exception, a case past
CASE_SECONDS, or an output the independent oracle flags fails the test. The verified outputs of all cases
go to leakcheck in one batch at the end. A failing input is saved under bench/out/fuzz-crashes/.
"""

from __future__ import annotations

import hashlib
import resource
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.oracle import assert_no_leaks
from tests.reliability.mutators import LAYOUTS, Mutation, mutate
from tests.reliability.reliability_helpers import exercise, fuzz_rounds, fuzz_seeds, write_outputs
from watcher.formats.registry import FORMATS, handler_named

# CI cases per handler: the video handler runs ffmpeg per case, so it gets fewer.
CI_EXAMPLES = {"video": 60}
DEFAULT_CI_EXAMPLES = 300
# Peak resident memory of the whole test process: a decompression bomb that got through would pass it.
MAX_RSS_BYTES = 3 << 30

# Inputs that failed, for moving into tests/reliability/regressions/ (git ignores bench/out/).
CRASHES = REPO / "bench" / "out" / "fuzz-crashes"

MUTATION_KINDS = (
    "set_field",
    "set_field",
    "set_field",
    "truncate",
    "duplicate",
    "delete",
    "flip",
    "ifd_loop",
)
mutations = st.builds(
    Mutation,
    kind=st.sampled_from(MUTATION_KINDS),
    pick=st.integers(min_value=0, max_value=1 << 16),
    value=st.one_of(
        st.integers(min_value=0, max_value=64), st.integers(min_value=0, max_value=(1 << 64) - 1)
    ),
)


def _keep_crash(handler_name: str, data: bytes) -> None:
    """Save a failing input (shrinking saves each smaller one too): the smallest goes to regressions/."""
    CRASHES.mkdir(parents=True, exist_ok=True)
    (CRASHES / f"{handler_name}-fuzz-{hashlib.sha256(data).hexdigest()[:12]}.bin").write_bytes(data)


def _mutated(handler_name: str, seed: bytes, steps: list[Mutation]) -> bytes:
    data = seed
    for step in steps:
        data = mutate(data, LAYOUTS[handler_name](data), step)  # re-read the layout: a step moves fields
    return data


@pytest.mark.parametrize("handler_name", [name for name, _sniff in FORMATS])
def test_mutated_files_give_a_verified_output_or_a_clean_error(handler_name: str, tmp_path: Path) -> None:
    handler = handler_named(handler_name)
    seeds = fuzz_seeds(handler_name)
    assert seeds, f"no corpus seed for {handler_name}"
    verified: dict[str, tuple[str, bytes]] = {}
    inputs: dict[str, bytes] = {}  # output digest -> the input that gave it (kept when the oracle objects)
    cases = 0
    rounds, round_settings = fuzz_rounds(CI_EXAMPLES.get(handler_name, DEFAULT_CI_EXAMPLES))

    @round_settings
    # Seeds are drawn by index: a failing example then prints as a number, not as 80 kB of bytes (whose
    # repr Hypothesis refuses with a warning that hides the failure itself).
    @given(seed=st.sampled_from(range(len(seeds))), steps=st.lists(mutations, min_size=1, max_size=4))
    def case(seed: int, steps: list[Mutation]) -> None:
        nonlocal cases
        cases += 1
        data = _mutated(handler_name, seeds[seed], steps)
        try:
            outputs = exercise(handler, data)
        except BaseException:
            _keep_crash(handler_name, data)
            raise
        for name, output in outputs:
            digest = hashlib.sha256(output).hexdigest()
            verified[digest] = (name, output)
            inputs.setdefault(digest, data)

    for number in range(rounds):
        case()
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < MAX_RSS_BYTES
        # Mutations that leave a file intact enough to clean (a duplicated chunk, a flipped pixel bit)
        # give outputs; each must be clean for the independent oracle too.
        _check_outputs(handler_name, verified, inputs, tmp_path / f"round-{number}")
        verified.clear()
        inputs.clear()
    assert cases > 0


def _check_outputs(
    handler_name: str, verified: dict[str, tuple[str, bytes]], inputs: dict[str, bytes], folder: Path
) -> None:
    if not verified:
        return
    paths = write_outputs(verified, folder)
    try:
        assert_no_leaks(*paths)
    except AssertionError as failure:
        for path in paths:
            if str(path) in str(failure):
                _keep_crash(handler_name, inputs[path.stem.split("-", 1)[1]])
        raise
    for path in paths:
        path.unlink()  # a long run writes a round at a time


@pytest.mark.parametrize("handler_name", [name for name, _sniff in FORMATS])
def test_unmutated_seeds_clean(handler_name: str) -> None:
    """The fuzz seeds themselves clean: a mutation that breaks one is found by the fuzzer, not by chance."""
    handler = handler_named(handler_name)
    for seed in fuzz_seeds(handler_name):
        assert any(name == handler_name for name, _ in exercise(handler, seed))
