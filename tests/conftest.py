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


def pytest_collection_modifyitems(items):
    """Mark every test under tests/workflow/ as a workflow test."""
    for item in items:
        if (
            item.path.parent.name == "workflow"
            and item.path.parent.parent.name == "tests"
        ):
            item.add_marker(pytest.mark.workflow)
