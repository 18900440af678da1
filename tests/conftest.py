"""Shared fixtures of the test suite: tests/unit/ holds the package's unit tests
(mirroring laser/), tests/workflow/ the end-to-end runs of the workflow, all
marked `workflow`."""

import signal

import pytest
import torch


@pytest.fixture
def handlers():
    """Progress with a directory installs its signal handlers: put them back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny networks train many times faster on one thread of a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# Under pytest-xdist (`make test`: two workers, `--dist loadfile`, each file's tests
# on one worker, so that a module's run is made once and the cluster's tests, which
# cancel their jobs by name, never overlap), the files that take longest are handed
# out first (measured: 14-17 minutes each beside another worker; test_progress 8),
# then the other workflow tests, then the unit tests.
FIRST = ["test_workflow", "test_slurm", "test_events", "test_variants", "test_progress"]


def pytest_collection_modifyitems(config, items):
    """Mark every test under tests/workflow/ as a workflow test; in an xdist worker,
    order the files as above."""
    for item in items:
        if (
            item.path.parent.name == "workflow"
            and item.path.parent.parent.name == "tests"
        ):
            item.add_marker(pytest.mark.workflow)
    if hasattr(config, "workerinput"):
        items.sort(key=_rank)


def _rank(item: pytest.Item) -> int:
    if item.path.stem in FIRST:
        return FIRST.index(item.path.stem)
    return len(FIRST) + (item.get_closest_marker("workflow") is None)
