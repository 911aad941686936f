"""The Terraform under infra/ agrees with the code: names, locations, and an IAM policy that allows
exactly the AWS calls the package makes.

"What the code touches" is read from the package source: every boto3 client call and awswrangler
call is found by walking the AST, and ``CALL_ACTIONS`` below maps each one to the IAM actions it needs.
A new call without an entry fails ``test_every_aws_call_has_an_iam_entry``; an action granted that no
call needs, or a call whose action is missing, fails ``test_pipeline_policy_allows_exactly_what_the_code_calls``.
checkov runs over infra/ and must report 0 failed checks.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import hcl2
import pytest

from ecommerce_pipeline import settings
from ecommerce_pipeline.catalog import athena_gold
from ecommerce_pipeline.catalog.query_library import athena_create_view, query_names
from ecommerce_pipeline.defs.catalog.aws_assets import GOLD_TABLES
from ecommerce_pipeline.defs.gold.athena_assets import athena_gold_assets
from ecommerce_pipeline.storage.s3_lake import layer_uris

ROOT = Path(__file__).resolve().parents[1]
ENVIRON = {k: v for k, v in os.environ.items() if not k.startswith("ECOM_")}
INFRA = ROOT / "infra"
PACKAGE = ROOT / "ecommerce_pipeline"

# ---------------------------------------------------------------------------------------------------
# The one table: each AWS call the package makes -> the IAM actions it needs, on which resource.
# Resources: "objects"/"bucket" are the S3 layers the calling module works on (S3_LAYERS_BY_MODULE);
# "glue" is the catalog, the database and its tables (Glue checks all three ARNs); "workgroup" and
# "key" are the Athena workgroup and the project's KMS key (every bucket is SSE-KMS).
# ---------------------------------------------------------------------------------------------------
GLUE = "glue"
CALL_ACTIONS: dict[tuple[str, str], list[tuple[str, str]]] = {
    # boto3 S3 client (storage/s3_landing.py)
    ("s3", "list_objects_v2"): [("s3:ListBucket", "bucket")],
    ("s3", "get_object"): [("s3:GetObject", "objects"), ("kms:Decrypt", "key")],
    # awswrangler S3 (storage/s3_lake.py, defs/catalog/aws_assets.py)
    ("wr.s3", "upload"): [
        ("s3:PutObject", "objects"),
        ("s3:AbortMultipartUpload", "objects"),  # large files go up in parts; a failed upload is aborted
        ("kms:GenerateDataKey", "key"),
        ("kms:Decrypt", "key"),  # multipart uploads to an SSE-KMS bucket decrypt the data key per part
    ],
    ("wr.s3", "delete_objects"): [("s3:DeleteObject", "objects")],
    # HEAD answers 404 for a missing key only with ListBucket (403 otherwise), and the lake relies on it.
    ("wr.s3", "does_object_exist"): [("s3:GetObject", "objects"), ("s3:ListBucket", "bucket")],
    ("wr.s3", "list_objects"): [("s3:ListBucket", "bucket")],
    ("wr.s3", "download"): [("s3:GetObject", "objects"), ("kms:Decrypt", "key")],
    ("wr.s3", "read_parquet_metadata"): [("s3:GetObject", "objects"), ("kms:Decrypt", "key")],
    # boto3 Glue client (catalog/glue.py)
    ("glue", "get_database"): [("glue:GetDatabase", GLUE)],
    ("glue", "create_database"): [("glue:CreateDatabase", GLUE)],
    ("glue", "get_table"): [("glue:GetTable", GLUE)],
    ("glue", "create_table"): [("glue:CreateTable", GLUE)],
    ("glue", "update_table"): [("glue:UpdateTable", GLUE)],
    ("glue", "batch_get_partition"): [("glue:BatchGetPartition", GLUE)],
    ("glue", "batch_create_partition"): [("glue:BatchCreatePartition", GLUE)],
    ("glue", "update_partition"): [("glue:UpdatePartition", GLUE)],
    ("glue", "get_partitions"): [("glue:GetPartitions", GLUE)],
    # boto3 Athena client (catalog/athena.py): the rows of a finished count, read from the results location.
    ("athena", "get_query_results"): [
        ("athena:GetQueryResults", "workgroup"),
        ("s3:GetObject", "results-objects"),
        ("kms:Decrypt", "key"),
    ],
    # awswrangler Athena (catalog/athena.py): reads the workgroup's enforced settings, submits, polls.
    # Athena then writes the results with the caller's credentials, SSE-KMS encrypted; what the SQL
    # itself needs is in ATHENA_STATEMENTS.
    ("wr.athena", "start_query_execution"): [
        ("athena:GetWorkGroup", "workgroup"),
        ("athena:StartQueryExecution", "workgroup"),
        ("athena:GetQueryExecution", "workgroup"),
        ("s3:GetBucketLocation", "results-bucket"),
        ("s3:ListBucket", "results-bucket"),
        ("s3:ListBucketMultipartUploads", "results-bucket"),
        ("s3:PutObject", "results-objects"),
        ("s3:GetObject", "results-objects"),
        ("s3:AbortMultipartUpload", "results-objects"),
        ("s3:ListMultipartUploadParts", "results-objects"),
        ("kms:GenerateDataKey", "key"),
        ("kms:Decrypt", "key"),
    ],
}

# What Athena does in the catalog and on S3, with the caller's credentials, for each kind of statement
# the package sends. "read-objects"/"read-bucket" are the layers of the tables it SELECTs from.
ATHENA_STATEMENTS: dict[str, list[tuple[str, str]]] = {
    "CREATE OR REPLACE VIEW": [
        ("glue:GetDatabase", GLUE),
        ("glue:GetTable", GLUE),
        ("glue:CreateTable", GLUE),
        ("glue:UpdateTable", GLUE),
    ],
    "SELECT": [
        ("glue:GetDatabase", GLUE),
        ("glue:GetTable", GLUE),
        ("glue:GetPartitions", GLUE),
        ("s3:GetBucketLocation", "read-bucket"),
        ("s3:ListBucket", "read-bucket"),
        ("s3:GetObject", "read-objects"),
        ("kms:Decrypt", "key"),
    ],
    # The gold engine on Athena (catalog/athena_gold.py): reads the silver tables it is computed from and
    # writes Parquet into a staging folder in the gold bucket (UNLOAD wants that folder empty, so it lists it).
    "UNLOAD": [
        ("glue:GetDatabase", GLUE),
        ("glue:GetTable", GLUE),
        ("glue:GetPartitions", GLUE),
        ("s3:GetBucketLocation", "unload-read-bucket"),
        ("s3:ListBucket", "unload-read-bucket"),
        ("s3:GetObject", "unload-read-objects"),
        ("s3:GetBucketLocation", "unload-write-bucket"),
        ("s3:ListBucket", "unload-write-bucket"),
        ("s3:PutObject", "unload-write-objects"),
        ("s3:AbortMultipartUpload", "unload-write-objects"),
        ("kms:Decrypt", "key"),
        ("kms:GenerateDataKey", "key"),
    ],
}

# Which layer buckets each module's S3 calls work on: the landing store reads landing; the lake and
# the Glue registration (Parquet footers) work on the lake layers (quarantine lives in bronze).
LAKE_LAYERS = ("bronze", "silver", "gold")
S3_LAYERS_BY_MODULE = {
    "storage/s3_landing.py": ("landing",),
    "storage/s3_lake.py": LAKE_LAYERS,
    "defs/catalog/aws_assets.py": LAKE_LAYERS,
    # The Athena gold engine reads Parquet footers of the lake's partitions and the files it staged in gold
    # (its data manifest is in the Athena results bucket, readable through the results grant).
    "catalog/athena_gold.py": LAKE_LAYERS,
}
RESULTS_BUCKET = "athena-results"


# --- reading the package ----------------------------------------------------------------------------


def aws_calls(source: str) -> set[tuple[str, str]]:
    """(service, operation) of every boto3 client call and every ``wr.<module>.<function>`` call."""
    tree = ast.parse(source)
    clients: dict[str, str] = {}  # receiver expression -> service, from `x = <...>.client("svc")`

    def client_service(node: ast.AST) -> str | None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client":
            arg = node.args[0] if node.args else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise AssertionError(f"boto3 client with a non-literal service: {ast.unparse(node)}")
            return arg.value
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            service = client_service(node.value)
            if service:
                for target in node.targets:
                    clients[ast.unparse(target)] = service
    wrangler = {
        a.asname or a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for a in n.names
        if a.name == "awswrangler"
    }

    calls = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver, operation = node.func.value, node.func.attr
        service = clients.get(ast.unparse(receiver)) or client_service(receiver)
        if service:
            if operation == "get_paginator":
                operation = node.args[0].value
            calls.add((service, operation))
        elif (
            isinstance(receiver, ast.Attribute)
            and isinstance(receiver.value, ast.Name)
            and receiver.value.id in wrangler
        ):
            calls.add((f"wr.{receiver.attr}", operation))
    return calls


# Operator tools run with the operator's own credentials, never as the pipeline role: `upload` writes the
# landing bucket (which the role may only read) and `local-aws` creates buckets, a database and a workgroup
# on a moto server. test_operator_tools_are_not_part_of_the_pipeline proves the definitions never load them.
OPERATOR_PACKAGE = "ops"


def package_calls() -> dict[str, set[tuple[str, str]]]:
    found = {}
    for path in sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != OPERATOR_PACKAGE):
        calls = aws_calls(path.read_text())
        if calls:
            found[path.relative_to(PACKAGE).as_posix()] = calls
    return found


def athena_statement_kinds() -> set[str]:
    """The kind of every statement the package hands to Athena: the query library's views and the
    literal SQL passed to ``athena.run`` in the catalog assets."""
    kinds = {next(k for k in ATHENA_STATEMENTS if athena_create_view(n).startswith(k)) for n in query_names()}
    tree = ast.parse((PACKAGE / "defs/catalog/aws_assets.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("run", "query"):
            arg = node.args[0]
            if isinstance(arg, ast.JoinedStr):
                text = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                kinds.add(next(k for k in ATHENA_STATEMENTS if text.startswith(k)))
            else:
                assert ast.unparse(arg).startswith("athena_create_view("), ast.unparse(arg)
    # The Athena gold engine runs only what unload_statement builds.
    tree = ast.parse((PACKAGE / "catalog/athena_gold.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run":
            assert ast.unparse(node.args[0]).startswith("unload_statement("), ast.unparse(node.args[0])
            statement = athena_gold.unload_statement("SELECT 1 AS business_date", ["business_date"], "s3://b/p/")
            kinds.add(next(k for k in ATHENA_STATEMENTS if statement.startswith(k)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "query":
            # The count of the same SQL reads what the UNLOAD reads (its grants), as a SELECT.
            assert ast.unparse(node.args[0]).startswith("count_statement("), ast.unparse(node.args[0])
            statement = athena_gold.count_statement("SELECT 1 AS business_date")
            kinds.add(next(k for k in ATHENA_STATEMENTS if statement.startswith(k)))
    return kinds


def required_permissions() -> set[tuple[str, str]]:
    """(action, resource) pairs the package needs, resources named as in ``granted_permissions``."""
    glue = ["glue:catalog", "glue:database", "glue:tables"]
    read_layers = {table.partition("/")[0] for table in GOLD_TABLES}
    # The layers of the tables the Athena gold assets read (their Glue dependencies).
    unload_read_layers = {dep.asset_key.path[2] for a in athena_gold_assets for dep in a.specs_by_key[a.key].deps}
    needed = set()

    def add(action: str, target: str, layers: tuple[str, ...]) -> None:
        resources = {
            GLUE: glue,
            "workgroup": ["athena:workgroup"],
            "key": ["kms:key"],
            "bucket": [f"s3:bucket:{layer}" for layer in layers],
            "objects": [f"s3:objects:{layer}" for layer in layers],
            "results-bucket": [f"s3:bucket:{RESULTS_BUCKET}"],
            "results-objects": [f"s3:objects:{RESULTS_BUCKET}/results"],
            "read-bucket": [f"s3:bucket:{layer}" for layer in sorted(read_layers)],
            "read-objects": [f"s3:objects:{layer}" for layer in sorted(read_layers)],
            "unload-read-bucket": [f"s3:bucket:{layer}" for layer in sorted(unload_read_layers)],
            "unload-read-objects": [f"s3:objects:{layer}" for layer in sorted(unload_read_layers)],
            "unload-write-bucket": ["s3:bucket:gold"],
            "unload-write-objects": ["s3:objects:gold"],
        }[target]
        needed.update((action, resource) for resource in resources)

    for module, calls in package_calls().items():
        layers = S3_LAYERS_BY_MODULE.get(module, ())
        for call in calls:
            for action, target in CALL_ACTIONS[call]:
                add(action, target, layers)
            if call == ("wr.athena", "start_query_execution"):
                for kind in athena_statement_kinds():
                    for action, target in ATHENA_STATEMENTS[kind]:
                        add(action, target, ())
    return needed


# --- reading the Terraform ----------------------------------------------------------------------------


def unquote(value):
    if isinstance(value, str):
        if value.startswith('"') and value.endswith('"'):
            return value[1:-1]
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
    return value


def load(path: Path) -> dict:
    with path.open() as f:
        return hcl2.load(f)


def blocks(folder: Path, kind: str) -> dict[str, dict]:
    """``resource``/``data`` blocks of every .tf file in ``folder`` as {"type.name": body}."""
    found = {}
    for path in sorted(folder.glob("*.tf")):
        for block in load(path).get(kind, []):
            for type_, named in block.items():
                for name, body in named.items():
                    found[f"{unquote(type_)}.{unquote(name)}"] = body
    return found


def named(folder: Path, kind: str) -> dict[str, dict]:
    """``output``/``variable``/``module`` blocks as {name: body}."""
    found = {}
    for path in sorted(folder.glob("*.tf")):
        for block in load(path).get(kind, []):
            for name, body in block.items():
                found[unquote(name)] = body
    return found


def tfvars(env: str) -> dict:
    return {k: unquote(v) for k, v in load(INFRA / "env" / f"{env}.tfvars").items()}


def resource_id(expression: str) -> str:
    """The canonical name of a resource written in the IAM module, or AssertionError for anything else."""
    patterns = {
        r'\$\{var\.bucket_arns\["([a-z-]+)"\]\}': "s3:bucket:{}",
        r'\$\{var\.bucket_arns\["([a-z-]+)"\]\}/\*': "s3:objects:{}",
        r'\$\{var\.bucket_arns\["([a-z-]+)"\]\}/\$\{var\.athena_results_prefix\}/\*': "s3:objects:{}/results",
        r"\$\{local\.glue_arn\}:catalog": "glue:catalog",
        r"\$\{local\.glue_arn\}:database/\$\{var\.glue_database_name\}": "glue:database",
        r"\$\{local\.glue_arn\}:table/\$\{var\.glue_database_name\}/\*": "glue:tables",
        r"\$\{var\.athena_workgroup_arn\}": "athena:workgroup",
        r"\$\{var\.kms_key_arn\}": "kms:key",
    }
    text = expression if expression.startswith("${") and "}" in expression else unquote(expression)
    text = text.strip('"')
    for pattern, name in patterns.items():
        match = re.fullmatch(pattern, text)
        if match:
            return name.format(*match.groups())
    raise AssertionError(f"the pipeline policy names a resource the test does not know: {expression}")


def pipeline_statements() -> list[dict]:
    policy = blocks(INFRA / "modules/iam", "data")["aws_iam_policy_document.pipeline"]
    return policy["statement"]


def granted_permissions() -> set[tuple[str, str]]:
    granted = set()
    for statement in pipeline_statements():
        for action in statement["actions"]:
            for resource in statement["resources"]:
                granted.add((unquote(action), resource_id(resource)))
    return granted


# --- the code reads what Terraform outputs -------------------------------------------------------------


def aws_env_vars() -> set[str]:
    """The AWS environment variables settings.py reads (the AWS fields of ``Settings``)."""
    source = (PACKAGE / "settings.py").read_text()
    read = dict(re.findall(r'(\w+)=env\.get\("(\w+)"', source))
    aws_fields = [
        f
        for f in settings.Settings.__dataclass_fields__
        if f.endswith("_uri") or f.startswith(("glue_", "athena_", "aws_"))
    ]
    return {read[f] for f in aws_fields}


def test_outputs_are_named_after_the_variables_the_code_reads():
    outputs = named(INFRA, "output")
    variables = aws_env_vars()
    assert variables == {
        "ECOM_LANDING_URI",
        "ECOM_BRONZE_URI",
        "ECOM_SILVER_URI",
        "ECOM_GOLD_URI",
        "ECOM_GLUE_DATABASE",
        "ECOM_ATHENA_WORKGROUP",
        "ECOM_ATHENA_RESULTS_URI",
        "AWS_REGION",
    }
    assert {v.lower() for v in variables} <= set(outputs)
    assert "pipeline_role_arn" in outputs
    # The README's output table (Running on AWS) lists the same names.
    readme = (ROOT / "README.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z_]+)` \| `([A-Z_]+)` \|$", readme, re.M))
    assert documented == {v.lower(): v for v in variables}


def test_layer_uris_point_at_their_own_bucket():
    outputs = named(INFRA, "output")
    layers = [layer for layer in layer_uris("s3://b", "s3://s", "s3://g") if layer != "quarantine"]
    for layer in ["landing", *layers]:
        assert unquote(outputs[f"ecom_{layer}_uri"]["value"]) == f's3://${{module.s3.bucket_names["{layer}"]}}'
    # Quarantine tables are written under the bronze URI, so the bronze bucket's grants and lifecycle cover them.
    assert layer_uris("s3://b", "s3://s", "s3://g")["quarantine"].startswith("s3://b/")
    s3_layers = set(unquote(load(INFRA / "modules/s3/main.tf")["locals"][0]["layers"]))
    assert s3_layers == {"landing", *layers, RESULTS_BUCKET}


def test_glue_database_and_workgroup_agree_with_settings():
    dev, prod = tfvars("dev"), tfvars("prod")
    assert dev["glue_database_name"] == settings.DEFAULT_GLUE_DATABASE
    for env, values in (("dev", dev), ("prod", prod)):
        assert values["environment"] == env
        # Underscores only: hyphens break Athena identifiers (the seed's mistake).
        assert re.fullmatch(r"[a-z][a-z0-9_]*", values["glue_database_name"]), values["glue_database_name"]
        assert values["glue_database_name"].endswith(f"_{env}")
        assert values["athena_bytes_scanned_cutoff"] >= 10 * 1024**2
        assert values["monthly_budget_usd"] == 4
    outputs = named(INFRA, "output")
    assert unquote(outputs["ecom_glue_database"]["value"]) == "module.glue.database_name"
    assert unquote(outputs["ecom_athena_workgroup"]["value"]) == "module.athena.workgroup_name"
    assert unquote(outputs["ecom_athena_results_uri"]["value"]) == "module.athena.results_uri"
    database = blocks(INFRA / "modules/glue", "resource")["aws_glue_catalog_database.analytics"]
    assert unquote(database["name"]) == "var.database_name"
    modules = named(INFRA, "module")
    assert unquote(modules["glue"]["database_name"]) == "var.glue_database_name"
    assert unquote(modules["iam"]["glue_database_name"]) == "module.glue.database_name"
    # The workgroup's enforced result location is the prefix the role may write.
    assert unquote(modules["athena"]["results_prefix"]) == unquote(modules["iam"]["athena_results_prefix"])


def test_crawlers_rebuild_the_table_names_the_pipeline_registers():
    from ecommerce_pipeline.catalog.glue import glue_table_name

    glue_main = load(INFRA / "modules/glue/main.tf")
    targets = glue_main["locals"][0]["recovery_targets"]
    crawler = blocks(INFRA / "modules/glue", "resource")["aws_glue_crawler.recovery"]
    assert unquote(crawler["table_prefix"]) == "${each.key}_"
    # A crawler names a table <prefix><folder>; the pipeline names it glue_table_name("<layer>/<folder>").
    for table in ["bronze/orders", "silver/orders_validated", "gold/daily_sales_summary", "quarantine/bronze_orders"]:
        layer, _, folder = table.partition("/")
        assert layer in targets
        assert glue_table_name(table) == f"{layer}_{folder}"
    assert unquote(targets["quarantine"]["path"]).endswith('["bronze"]}/quarantine/')
    assert [unquote(e) for e in targets["bronze"]["exclusions"]] == ["quarantine/**"]
    assert "schedule" not in crawler  # recovery only: never crawls on its own


def test_athena_workgroup_enforces_encrypted_results_and_a_cutoff():
    workgroup = blocks(INFRA / "modules/athena", "resource")["aws_athena_workgroup.pipeline"]
    config = workgroup["configuration"][0]
    assert config["enforce_workgroup_configuration"] is True
    assert unquote(config["bytes_scanned_cutoff_per_query"]) == "var.bytes_scanned_cutoff"
    encryption = config["result_configuration"][0]["encryption_configuration"][0]
    assert unquote(encryption["encryption_option"]) == "SSE_KMS"


def test_bucket_lifecycles_follow_the_retention_policy():
    layers = load(INFRA / "modules/s3/main.tf")["locals"][0]["layers"]
    plan = {
        unquote(layer): (
            [(t["days"], unquote(t["storage_class"])) for t in value["transitions"]],
            value["expire_days"],
        )
        for layer, value in layers.items()
    }
    assert plan == {
        "landing": ([], 0),
        "bronze": ([(30, "INTELLIGENT_TIERING"), (90, "GLACIER_IR")], 365),
        "silver": ([(180, "GLACIER_IR")], 0),
        "gold": ([], 730),
        "athena-results": ([], 7),
    }
    module = named(INFRA / "modules/s3", "module")["bucket"]
    assert module["noncurrent_version_expire_days"] == 30
    bucket = blocks(INFRA / "modules/s3/modules/bucket", "resource")
    rule = bucket["aws_s3_bucket_server_side_encryption_configuration.this"]["rule"][0]
    assert unquote(rule["apply_server_side_encryption_by_default"][0]["sse_algorithm"]) == "aws:kms"
    assert blocks(INFRA / "modules/s3", "resource")["aws_kms_key.data"]["enable_key_rotation"] is True


# --- the role allows exactly what the code calls -------------------------------------------------------


def test_every_aws_call_has_an_iam_entry():
    calls = package_calls()
    assert set(calls) == set(S3_LAYERS_BY_MODULE) | {"catalog/glue.py", "catalog/athena.py"}, calls
    found = set().union(*calls.values())
    assert found - set(CALL_ACTIONS) == set(), "AWS calls without an IAM entry in CALL_ACTIONS"
    assert set(CALL_ACTIONS) - found == set(), "CALL_ACTIONS entries for calls the code no longer makes"
    for module, module_calls in calls.items():
        if any(service.endswith("s3") for service, _ in module_calls):
            assert module in S3_LAYERS_BY_MODULE, f"{module} calls S3: say which buckets in S3_LAYERS_BY_MODULE"


def test_operator_tools_are_not_part_of_the_pipeline():
    """What the pipeline role runs (the definitions, in a fresh interpreter) never imports the operator tools."""
    code = (
        "import sys, ecommerce_pipeline.definitions as d; d.defs.resolve_asset_graph(); "
        f"loaded = [m for m in sys.modules if m.startswith('ecommerce_pipeline.{OPERATOR_PACKAGE}')]; "
        "assert not loaded, loaded"
    )
    for env in ({}, {"ECOM_ENV": "aws", "ECOM_GOLD_ENGINE": "athena"}):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**ENVIRON, **env})
        assert proc.returncode == 0, proc.stderr
    assert aws_calls((PACKAGE / OPERATOR_PACKAGE / "upload.py").read_text()) == {("s3", "upload_file")}


def test_the_call_scanner_sees_a_new_call():
    source = (
        "import boto3\nimport awswrangler as wr\n"
        "class C:\n"
        "    def __init__(self):\n"
        "        self.glue = boto3.Session().client('glue')\n"
        "    def drop(self):\n"
        "        self.glue.delete_table(DatabaseName='d', Name='t')\n"
        "        boto3.client('athena').stop_query_execution(QueryExecutionId='q')\n"
        "        wr.s3.copy_objects(['s3://a/b'], 's3://a', 's3://c')\n"
    )
    calls = aws_calls(source)
    assert calls == {("glue", "delete_table"), ("athena", "stop_query_execution"), ("wr.s3", "copy_objects")}
    assert not calls <= set(CALL_ACTIONS)


def test_athena_statements_are_the_kinds_the_table_knows():
    assert athena_statement_kinds() == set(ATHENA_STATEMENTS)


def test_pipeline_policy_allows_exactly_what_the_code_calls():
    required, granted = required_permissions(), granted_permissions()
    assert required - granted == set(), "the code calls these but the role may not"
    assert granted - required == set(), "the role may do these but no code calls them"


def test_pipeline_policy_names_actions_and_resources():
    for statement in pipeline_statements():
        assert unquote(statement.get("effect", '"Allow"')) == "Allow"
        for action in map(unquote, statement["actions"]):
            assert re.fullmatch(r"[a-z0-9]+:[A-Za-z]+", action), action  # no "*" anywhere in an action
        for resource in statement["resources"]:
            assert unquote(resource) != "*"
            resource_id(resource)
    assert len({unquote(s["sid"]) for s in pipeline_statements()}) == len(pipeline_statements())


# --- checkov ------------------------------------------------------------------------------------------


def checkov_command() -> list[str]:
    """checkov pins old boto3/botocore, so it lives in its own virtualenv (.ci/run makes .venv-checkov)."""
    for candidate in (ROOT / ".venv-checkov/bin/checkov", Path(sys.executable).parent / "checkov"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("checkov")
    if found:
        return [found]
    pytest.fail(
        "checkov is not installed: python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov "
        "(it pins an older boto3, so keep it out of the project's virtualenv)"
    )


@pytest.mark.slow
def test_checkov_reports_no_failed_check():
    result = subprocess.run(
        [*checkov_command(), "-d", str(INFRA), "--framework", "terraform", "--skip-download", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 100  # the scan really covered the modules
    assert summary["parsing_errors"] == 0
    # Every skip is inline and justified in words.
    for path in INFRA.rglob("*.tf"):
        for skip in re.findall(r"#checkov:skip=([^\n]*)", path.read_text()):
            check, _, why = skip.partition(":")
            assert re.fullmatch(r"CKV2?_AWS_\d+", check) and len(why.split()) >= 5, (path, skip)


def test_the_documented_one_liner_writes_the_env_file():
    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("terraform output -json | python3 -c"))
    script = re.search(r"python3 -c '([^']+)'", line).group(1)
    # What `terraform output -json` prints: every output, with value, type and sensitivity.
    outputs = {
        name: {"sensitive": False, "type": "string", "value": f"value-of-{name}"} for name in named(INFRA, "output")
    }
    result = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(outputs), capture_output=True, text=True, check=True
    )
    env = dict(row.split("=", 1) for row in result.stdout.splitlines())
    assert env == {v: f"value-of-{v.lower()}" for v in aws_env_vars()}
    assert settings.load_settings(env).glue_database == "value-of-ecom_glue_database"
