"""Shared fixtures of the test suite."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Tiny networks train many times faster on one thread of a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
