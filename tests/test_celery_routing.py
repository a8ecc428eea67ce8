"""Every task has a queue of its own kind, a time limit, and beat's entries reach a worker."""

import pytest
from django.conf import settings

from config.celery import app

QUEUES = {"webhooks", "pushes", "orders", "jobs"}


def our_tasks() -> set[str]:
    app.loader.import_default_modules()
    return {
        name
        for name in app.tasks
        if not name.startswith(("celery.", "sandbox."))  # Celery's own; the simulated vendors
    }


def test_the_four_queues_are_declared_and_unrouted_work_lands_on_one_of_them():
    assert set(settings.STOCKLINK_QUEUES) == QUEUES
    assert {q.name for q in app.conf.task_queues} == QUEUES
    assert app.conf.task_default_queue in QUEUES


def test_a_message_routed_to_one_queue_reaches_that_queue_only():
    keys = {(q.exchange.name, q.routing_key) for q in app.conf.task_queues}
    assert keys == {(name, name) for name in QUEUES}  # one binding each: nothing is copied


def test_every_task_of_ours_is_routed_by_name_so_a_rename_cannot_strand_it():
    routed = set(settings.CELERY_TASK_ROUTES)
    assert our_tasks() - routed == set(), "add the task to STOCKLINK_TASK_QUEUES"
    assert routed - our_tasks() == set(), "STOCKLINK_TASK_QUEUES names a task that is gone"


def test_every_beat_entry_is_a_routed_task():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in settings.CELERY_TASK_ROUTES


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("sync.process_webhook_event", "webhooks"),
        ("sync.drain_webhook_events", "webhooks"),
        ("sync.send_pending", "pushes"),
        ("sync.import_orders", "orders"),
        ("sync.reconcile_all", "jobs"),
    ],
)
def test_a_task_is_sent_to_its_queue_with_its_queues_time_limits(task, queue):
    route = app.amqp.router.route({}, task)
    assert route["queue"].name == queue
    assert (route["queue"].exchange.name, route["queue"].routing_key) == (queue, queue)
    soft, hard = settings.STOCKLINK_QUEUE_TIME_LIMITS[queue]
    assert (app.tasks[task].soft_time_limit, app.tasks[task].time_limit) == (soft, hard)
    assert soft < hard


def test_a_live_senders_claims_are_renewed_well_within_their_lease():
    # The heartbeat renews every third of the lease: a live send never loses its claim, and a
    # killed worker's claims lapse within a minute (docs/convergence.md, "Claims").
    from sync import conf

    assert settings.SYNC_CLAIM_LEASE_SECONDS <= 60
    assert conf.claim_heartbeat() * 3 <= settings.SYNC_CLAIM_LEASE_SECONDS
