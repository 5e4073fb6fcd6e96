"""The worker settings that make starting thousands of cases cheap keep what they promise."""

from __future__ import annotations

import gc
from datetime import date

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner

from tests.workflows import builders
from workflows.cases import resolve_timer_durations
from workflows.models import CaseInput
from workflows.worker import CASE_DATA_CONVERTER, SharedPydanticPayloadConverter, worker_gc, workflow_runner


def test_worker_gc_raises_the_first_threshold_and_restores_everything():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with worker_gc(12_345):
        assert gc.get_threshold() == (12_345, *before[1:])
        assert gc.get_freeze_count() > frozen
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)


def test_production_sandbox_passes_only_the_workflow_module_through():
    passthrough = workflow_runner().restrictions.passthrough_modules
    strict = workflow_runner(strict_sandbox=True).restrictions.passthrough_modules
    assert "workflows.case_workflow" in passthrough and "workflows.case_workflow" not in strict
    assert passthrough - strict == {"workflows.case_workflow"}
    assert isinstance(workflow_runner(sandboxed=False), UnsandboxedWorkflowRunner)


def test_shared_converter_writes_and_reads_the_stock_pydantic_json():
    framework = builders.framework()
    inp = CaseInput(case_id="case-X-test_phase3-3", family_id="X", framework_id="test_phase3", phase="3",
                    framework_hash="0" * 64, lifecycle=framework.lifecycle,
                    timer_durations=resolve_timer_durations(framework, date(2024, 1, 15)))
    ours = CASE_DATA_CONVERTER.payload_converter.to_payloads([inp])
    stock = pydantic_data_converter.payload_converter.to_payloads([inp])
    assert ours == stock
    assert pydantic_data_converter.payload_converter.from_payloads(ours, [CaseInput]) == [inp]
    assert SharedPydanticPayloadConverter().from_payloads(stock, [CaseInput]) == [inp]
    first, second = SharedPydanticPayloadConverter(), SharedPydanticPayloadConverter()
    assert first.converters[b"json/plain"] is second.converters[b"json/plain"]
