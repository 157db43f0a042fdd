"""Many threads using the backend at once."""

import threading

import torch

import {{ cookiecutter.package_name }} as backend

DEVICE = backend.DEVICE_TYPE
device_module = torch.get_device_module(DEVICE)
THREADS = 8
PER_THREAD = 2000


def run_in_threads(work):
    """Start THREADS threads together on work(thread_index); return their results."""
    barrier = threading.Barrier(THREADS)
    results = [None] * THREADS
    errors = []

    def run(index):
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_stream_ids_stay_unique_across_threads():
    def create_streams(index):
        device = f"{DEVICE}:{index % device_module.device_count()}"
        return [torch.Stream(device=device).stream_id for _ in range(PER_THREAD)]

    ids = [stream_id for batch in run_in_threads(create_streams) for stream_id in batch]
    assert len(set(ids)) == THREADS * PER_THREAD
    assert 0 not in ids


def test_event_ids_stay_unique_across_threads():
    def record_events(index):
        device = f"{DEVICE}:{index % device_module.device_count()}"
        stream = torch.Stream(device=device)
        return [stream.record_event() for _ in range(PER_THREAD)]

    # The events are returned, not their ids: an id is unique among live events
    # (a freed event's id may be reused), and a thread that finished first
    # would otherwise free its events while others still record.
    batches = run_in_threads(record_events)
    ids = [event.event_id for batch in batches for event in batch]
    assert len(set(ids)) == THREADS * PER_THREAD
    assert 0 not in ids


def test_each_thread_keeps_its_own_device_and_stream():
    count = device_module.device_count()
    streams = [torch.Stream(device=f"{DEVICE}:{index % count}") for index in range(THREADS)]

    def switch_back_and_forth(index):
        device, stream = index % count, streams[index]
        seen = set()
        for _ in range(200):
            device_module.set_device(device)
            device_module.set_stream(stream)
            current_stream = device_module.current_stream(device)
            seen.add((device_module.current_device(), current_stream.stream_id))
        return seen

    assert run_in_threads(switch_back_and_forth) == [
        {(index % count, stream.stream_id)} for index, stream in enumerate(streams)
    ]
    assert device_module.current_device() == 0
    assert device_module.current_stream(0).stream_id == 0


def test_threads_queue_and_wait_on_shared_streams():
    count = device_module.device_count()
    streams = [torch.Stream(device=f"{DEVICE}:{i % count}") for i in range(THREADS)]

    def producer_consumer(index):
        """Chain this thread's stream to the next thread's; check what queries report."""
        mine, next_stream = streams[index], streams[(index + 1) % THREADS]
        events, contradictions = [], []
        for round_number in range(50):
            if round_number % 10 == 0:
                backend.sleep(1, mine)
            event = mine.record_event()
            next_stream.wait_event(event)
            # An idle stream has run its wait on `event`: the event is complete.
            if next_stream.query() and not event.query():
                contradictions.append(round_number)
            events.append(event)
        mine.synchronize()
        # Everything recorded on `mine` ran before the synchronize returned.
        return contradictions, [event.query() for event in events]

    for contradictions, completed in run_in_threads(producer_consumer):
        assert contradictions == []
        assert completed == [True] * 50
    for index in range(count):
        torch.accelerator.synchronize(index)
    assert all(stream.query() for stream in streams)
