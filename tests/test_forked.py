"""Jobs side by side give what the same jobs give one after the other."""
import os

from datapakke.publication import forked


def _job(state, job):
    return (state["base"] + job, os.getpid())


def test_fork_map_gives_the_serial_results_in_order():
    jobs = list(range(6))
    side_by_side = forked.fork_map(_job, jobs, {"base": 10}, workers=2)
    serial = forked.fork_map(_job, jobs, {"base": 10}, workers=1)
    assert [r for r, _ in side_by_side] == [r for r, _ in serial] == [10 + j for j in jobs]
    assert {pid for _, pid in serial} == {os.getpid()}
    assert os.getpid() not in {pid for _, pid in side_by_side}  # the work ran in the forked processes
    assert forked._STATE is None
