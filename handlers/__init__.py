"""Handlers: plain functions that cauce's automated BPMN steps call by name.

Each module exposes the handler function (keyword arguments are the validated input, the result
is JSON-serialisable), marshmallow ``Input``/``Output`` schemas, and raises
:class:`handlers.errors.BusinessError` subclasses for outcomes that a diagram routes through an
error boundary event. The handlers know nothing about Flask, the database or the engine so they
can be tested and reused in isolation; the registry that wires them lives elsewhere.
"""
