import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from google.protobuf.descriptor_pool import DescriptorPool

from easel_client import EaselClient, EaselError, TaskStatus
from easel.v1 import tasks_pb2  # noqa: E402 (on the path once easel_client is imported)

EXAMPLE = Path(__file__).resolve().parents[1] / "example.py"


def test_example_creates_follows_and_saves_an_image(server, tmp_path):
    output = tmp_path / "boat.png"
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--server", server.unix, "--user", "py", "--grant", "50", "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "TASK_STATUS_COMPLETED" in result.stdout
    data = output.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (640, 384)
    assert "40 credits available" in result.stdout


def test_client_over_tcp_with_errors_as_statuses(server):
    with EaselClient(server.tcp, user_id="anyone", token="ek_wrong") as wrong:
        with pytest.raises(EaselError) as unauthenticated:
            wrong.balance()
        assert unauthenticated.value.code == "UNAUTHENTICATED"
    with EaselClient(server.tcp, user_id="tcp-user", platform="web", token=server.token) as easel:
        assert easel.grant(25).available == 25
        task = easel.create("txt2img", prompt="a lantern", params={"width": 64, "height": 64, "seed": 3})
        assert task.platform == "web" and task.credit_cost == 10
        final = easel.wait(task.id)
        assert final.status == TaskStatus.Value("TASK_STATUS_COMPLETED")
        thumbnail, content_type = easel.download(task.id, "thumbnail")
        assert content_type == "image/jpeg" and thumbnail.startswith(b"\xff\xd8")
        assert easel.list(limit=5).total == 1
        assert task.priority == 5
        quote = easel.quote("txt2img", prompt="a lantern", params={"quality": "high"})
        assert quote.credit_cost == 15 and quote.covered and quote.available == 15
        with pytest.raises(EaselError) as too_high:
            easel.create("txt2img", prompt="x", priority=9)
        assert too_high.value.code == "PERMISSION_DENIED" and "--max-priority 9" in too_high.value.message
        with pytest.raises(EaselError) as missing:
            easel.get("no-such-task")
        assert missing.value.code == "NOT_FOUND"
        with pytest.raises(EaselError) as broke:
            easel.create("txt2img", prompt="x", params={"quality": "high", "resolution": "4k"})
        assert broke.value.code == "FAILED_PRECONDITION"
        assert broke.value.message == "insufficient credits: need 23, available 15"
        with pytest.raises(EaselError) as invalid:
            easel.create("txt2img", prompt="x", params={"width": 9999})
        assert invalid.value.code == "INVALID_ARGUMENT" and "parameters.width" in invalid.value.message
        backends = {backend.name: backend for backend in easel.backends()}
        assert "procedural" in backends and not backends["procedural"].endpoints
        with pytest.raises(EaselError) as no_fleet:
            easel.set_endpoint_draining("procedural", "http://nowhere")
        assert no_fleet.value.code == "NOT_FOUND" and "has no servers" in no_fleet.value.message


def test_reflection_lists_services_and_resolves_method_types(server):
    channel = grpc.insecure_channel(server.tcp)
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert {"easel.v1.TaskService", "easel.v1.TemplateService", "easel.v1.CreditService", "grpc.health.v1.Health"} <= services
    pool = DescriptorPool(database)
    method = pool.FindMethodByName("easel.v1.TaskService.CreateTask")
    assert method.input_type.full_name == "easel.v1.CreateTaskRequest"
    assert "idempotency_key" in method.input_type.fields_by_name
    assert pool.FindMessageTypeByName("easel.v1.Task").fields_by_name["credit_cost"].number == 9
    channel.close()


def test_a_user_stream_resumes_from_its_token(server):
    with EaselClient(server.unix, user_id="resumer") as easel:
        easel.grant(20)
        task = easel.create("txt2img", prompt="a comet", params={"width": 64, "height": 64})
        easel.wait(task.id)
        # From the start of the log: every update of the task, each with a token.
        everything = []
        for update in easel.watch(resume_token="u0"):
            everything.append(update)
            if update.task.status == TaskStatus.Value("TASK_STATUS_COMPLETED"):
                break
        assert [u.sequence for u in everything] == [1, 2, 3]
        assert all(u.resume_token for u in everything)
        # Resuming after the first update replays exactly the ones after it.
        rest = []
        for update in easel.watch(resume_token=everything[0].resume_token):
            rest.append(update)
            if update.task.status == TaskStatus.Value("TASK_STATUS_COMPLETED"):
                break
        assert [u.sequence for u in rest] == [2, 3]


def test_a_resume_point_past_the_retention_window_starts_afresh(tmp_path):
    from conftest import Server

    server = Server(tmp_path, {"EASEL_UPDATE_LOG_RETENTION": "1s"})
    try:
        with EaselClient(server.unix, user_id="late") as easel:
            easel.grant(10)
            task = easel.create("txt2img", prompt="a fossil", params={"width": 64, "height": 64})
            easel.wait(task.id)
            # The server trims four times a window: after two windows the task's states are gone.
            time.sleep(2)
            seen = [(u.sequence, u.task.status) for u in easel.watch(task.id, after_sequence=1)]
            assert seen == [(3, TaskStatus.Value("TASK_STATUS_COMPLETED"))]
            with pytest.raises(grpc.RpcError) as trimmed:
                next(iter(easel._tasks.StreamTaskUpdates(
                    tasks_pb2.StreamTaskUpdatesRequest(user_id="late", resume_token="u0"))))
            assert trimmed.value.code() == grpc.StatusCode.OUT_OF_RANGE
            assert "open a new stream without a resume token" in trimmed.value.details()
    finally:
        assert server.stop() == 0


def test_tls_with_a_root_certificate_and_the_ledger(tmp_path):
    from conftest import Server

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, check=True,
    )
    data = tmp_path / "data"
    server = Server(data, {"EASEL_TLS_CERT": str(cert), "EASEL_TLS_KEY": str(key)})
    try:
        with EaselClient(server.tcp, user_id="tls-user", platform="web", token=server.token, tls=True,
                         root_certificates=cert) as easel:
            assert easel.grant(10).available == 10
            assert easel.adjust_credits(-3, reason="refund of a manual charge").available == 7
            ledger = easel.ledger(limit=5)
            assert [entry.kind for entry in ledger.entries] == ["ADJUST", "GRANT"]
            assert ledger.entries[0].reason == "refund of a manual charge" and ledger.total == 2
            with pytest.raises(EaselError) as no_reason:
                easel.adjust_credits(5, reason="")
            assert no_reason.value.code == "INVALID_ARGUMENT"
        # Without TLS the same port does not answer gRPC.
        with EaselClient(server.tcp, user_id="tls-user", platform="web", token=server.token) as plain:
            with pytest.raises(EaselError) as refused:
                plain.balance()
            assert refused.value.code == "UNAVAILABLE" and "tls=True" in refused.value.message
    finally:
        assert server.stop() == 0


def test_list_pages_by_token(server):
    with EaselClient(server.unix, user_id="pager") as easel:
        easel.grant(100)
        created = [easel.create("txt2img", prompt=f"task {i}", params={"width": 64, "height": 64}).id for i in range(5)]
        seen, token = [], ""
        while True:
            page = easel.list(limit=2, page_token=token)
            assert page.total == 5
            seen += [task.id for task in page.tasks]
            token = page.next_page_token
            if not token:
                break
        assert seen == list(reversed(created))


def test_pin_and_unpin(server):
    with EaselClient(server.unix, user_id="keeper") as easel:
        easel.grant(20)
        task = easel.create("txt2img", prompt="a keeper", params={"width": 64, "height": 64}, retention_ms=3_600_000)
        assert easel.pin(task.id).pinned
        assert not easel.unpin(task.id).pinned
        with pytest.raises(EaselError) as missing:
            easel.pin("no-such-task")
        assert missing.value.code == "NOT_FOUND"


def test_outputs_and_a_batch(server):
    with EaselClient(server.unix, user_id="batcher") as easel:
        easel.grant(100)
        task = easel.wait(easel.create("txt2img", prompt="two foxes", params={"width": 64, "height": 64}, num_outputs=2).id)
        assert task.status == TaskStatus.TASK_STATUS_COMPLETED and len(task.outputs) == 2
        first, second = easel.download(task.id, index=0), easel.download(task.id, index=1)
        assert first[0] != second[0] and second[1] == "image/png"

        items = [{"template": "txt2img", "prompt": f"tile {i}", "params": {"width": 64, "height": 64}} for i in range(3)]
        with pytest.raises(EaselError) as refused:
            easel.create_batch(items + [{"template": "no-such-template"}])
        assert refused.value.code == "NOT_FOUND" and "tasks[3]" in refused.value.message
        batch = easel.create_batch(items, idempotency_key="tiles-1")
        assert len(batch.task_ids) == 3 and batch.summary.total == 3
        ended = {update.task.id for update in easel.watch_batch(batch.id) if update.task.status == TaskStatus.TASK_STATUS_COMPLETED}
        assert ended == set(batch.task_ids)
        assert easel.list(batch_id=batch.id).total == 3
        summary = easel.get_batch(batch.id).summary
        assert summary.completed == 3 and summary.credits_captured == 30
        assert easel.cancel_batch(batch.id).summary.canceled == 0


def test_operations(server):
    with EaselClient(server.unix, user_id="operator") as easel:
        easel.grant(100)
        assert easel.pause_backend("default-image", reason="upgrade").paused
        assert [pause.backend for pause in easel.backend_pauses()] == ["default-image"]
        held = easel.create("txt2img", prompt="not now", params={"width": 64, "height": 64})
        canceled = easel.cancel(held.id)  # still PENDING: its backend is paused
        assert canceled.status == TaskStatus.TASK_STATUS_CANCELED
        easel.resume_backend("default-image")
        assert easel.backend_pauses() == []
        retried = easel.retry(canceled.id).retried[0]
        assert retried.retry_of == canceled.id
        assert easel.wait(retried.id).status == TaskStatus.TASK_STATUS_COMPLETED
        assert easel.retry(status=TaskStatus.TASK_STATUS_FAILED, user_id="nobody", dry_run=True).matched == 0
        assert len(easel.stats().minutes) == 60
        assert easel.webhook_deliveries() == []
