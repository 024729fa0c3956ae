"""The server's OpenAPI 3.0 document (the oas30 conformance class): every route, its parameters and answers.
Pure; the process ids are listed as the ``processID`` enum of the execution path."""

from __future__ import annotations

from typing import Any

from .. import __version__

_JSON = {"application/json": {"schema": {"type": "object"}}}
_HTML = {"text/html": {"schema": {"type": "string"}}}


def _answer(description: str, html: bool = False, **more: Any) -> dict[str, Any]:
    return {"description": description, "content": {**_JSON, **(_HTML if html else {})}, **more}


def _path_parameter(name: str, description: str, values: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if values:
        schema["enum"] = values
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


_F = {"name": "f", "in": "query", "required": False, "description": "json or html (beats Accept)",
      "schema": {"type": "string", "enum": ["json", "html"]}}
_ERRORS = {"401": _answer("missing or unknown bearer token (when the server has a token file)"),
           "406": _answer("no representation the Accept header takes")}


def openapi_document(process_ids: list[str], *, secured: bool) -> dict[str, Any]:
    process = _path_parameter("processID", "a process (a Seed job name)", process_ids or None)
    job = _path_parameter("jobID", "a job (a run id)")
    paths: dict[str, Any] = {
        "/": {"get": {"summary": "landing page", "operationId": "getLandingPage", "parameters": [_F],
                      "responses": {"200": _answer("links to the API", html=True), **_ERRORS}}},
        "/conformance": {"get": {"summary": "conformance classes", "operationId": "getConformanceClasses",
                                 "parameters": [_F], "responses": {"200": _answer("the classes", html=True)}}},
        "/openapi": {"get": {"summary": "this document", "operationId": "getOpenAPI",
                             "responses": {"200": {"description": "OpenAPI 3.0", "content": {
                                 "application/vnd.oai.openapi+json;version=3.0": {"schema": {"type": "object"}}}}}}},
        "/processes": {"get": {"summary": "the processes", "operationId": "getProcesses", "parameters": [_F],
                               "responses": {"200": _answer("processList", html=True), **_ERRORS}}},
        "/processes/{processID}": {"get": {
            "summary": "a process description", "operationId": "getProcessDescription",
            "parameters": [process, _F, {"name": "version", "in": "query", "required": False,
                                         "schema": {"type": "string"}}],
            "responses": {"200": _answer("process", html=True), "404": _answer("no such process"), **_ERRORS}}},
        "/processes/{processID}/execution": {"post": {
            "summary": "execute a process", "operationId": "execute",
            "parameters": [process, {"name": "Prefer", "in": "header", "required": False,
                                     "schema": {"type": "string"}, "description": "respond-async: answer at once"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": {"description": "results (synchronous)", "content": {
                              **_JSON, "*/*": {"schema": {"type": "string", "format": "binary"}}}},
                          "201": _answer("job accepted (asynchronous, or a synchronous one past its wait)",
                                         headers={"Location": {"schema": {"type": "string"}}}),
                          "400": _answer("a request the process cannot take"),
                          "404": _answer("no such process"), "413": _answer("request body too large"),
                          "500": _answer("the job failed (synchronous)"),
                          "503": _answer("the queue is full", headers={"Retry-After": {"schema": {"type": "integer"}}}),
                          **_ERRORS}}},
        "/processes/{processID}/package": {"get": {
            "summary": "the application package a deployed process was deployed with", "operationId": "getPackage",
            "parameters": [process], "responses": {"200": {"description": "the package", "content": {
                "application/ogcapppkg+json": {"schema": {"type": "object"}}}}, "404": _answer("not deployed")}}},
        "/jobs": {"get": {"summary": "the jobs", "operationId": "getJobs", "parameters": [
            _F, {"name": "processID", "in": "query", "required": False, "schema": {"type": "array",
                                                                                  "items": {"type": "string"}}},
            {"name": "status", "in": "query", "required": False, "schema": {"type": "array", "items": {
                "type": "string", "enum": ["accepted", "running", "successful", "failed", "dismissed"]}}},
            {"name": "type", "in": "query", "required": False, "schema": {"type": "array", "items": {
                "type": "string", "enum": ["process"]}}},
            {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1,
                                                                          "maximum": 1000, "default": 10}},
            {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
            {"name": "datetime", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "created at an instant or within START/END (.. open)"},
            {"name": "minDuration", "in": "query", "required": False, "schema": {"type": "number"}},
            {"name": "maxDuration", "in": "query", "required": False, "schema": {"type": "number"}}],
            "responses": {"200": _answer("jobList", html=True), "400": _answer("a bad filter"), **_ERRORS}}},
        "/jobs/{jobID}": {
            "get": {"summary": "a job's status", "operationId": "getStatus", "parameters": [job, _F],
                    "responses": {"200": _answer("statusInfo", html=True), "404": _answer("no such job"),
                                  **_ERRORS}},
            "delete": {"summary": "dismiss a job: stop it and remove what it wrote", "operationId": "dismiss",
                       "parameters": [job], "responses": {"200": _answer("statusInfo (dismissed)"),
                                                          "404": _answer("no such job"), **_ERRORS}}},
        "/jobs/{jobID}/results": {"get": {
            "summary": "a job's results", "operationId": "getResult", "parameters": [job, _F],
            "responses": {"200": _answer("results"), "404": _answer("no such job, or no results yet"), **_ERRORS}}},
        "/jobs/{jobID}/results/{outputID}": {"get": {
            "summary": "one file output's bytes (a multiple output: the list of its files)",
            "operationId": "getOutput",
            "parameters": [job, _path_parameter("outputID", "an output name")],
            "responses": {"200": {"description": "the file", "content": {
                "*/*": {"schema": {"type": "string", "format": "binary"}}}}, "404": _answer("no such output")}}},
    }
    package = {"required": True, "content": {"application/ogcapppkg+json": {"schema": {"type": "object"}},
                                             "application/json": {"schema": {"type": "object"}}}}
    paths["/processes"]["post"] = {
        "summary": "deploy a process (a Seed image in an application package; a deploy token)",
        "operationId": "deploy", "requestBody": package,
        "responses": {"201": _answer("processSummary", headers={"Location": {"schema": {"type": "string"}}}),
                      "400": _answer("a package that cannot be deployed"), "403": _answer("not a deploy token"),
                      "409": _answer("the process exists"), **_ERRORS}}
    paths["/processes/{processID}"]["put"] = {
        "summary": "replace a deployed process", "operationId": "replace", "parameters": [process],
        "requestBody": package, "responses": {"204": {"description": "replaced"}, "400": _answer("refused"),
                                              "403": _answer("not deployed, or not a deploy token"),
                                              "404": _answer("no such process"), **_ERRORS}}
    paths["/processes/{processID}"]["delete"] = {
        "summary": "undeploy a deployed process", "operationId": "undeploy", "parameters": [process],
        "responses": {"204": {"description": "undeployed"}, "403": _answer("not deployed, or not a deploy token"),
                      "404": _answer("no such process"), **_ERRORS}}
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "seed-runner: Seed jobs as OGC API - Processes", "version": __version__,
                 "license": {"name": "Apache-2.0"}},
        "paths": paths,
    }
    if secured:
        document["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        document["security"] = [{"bearer": []}]
    return document
