"""The Terraform under infra/ agrees with the code: names, locations, and an IAM policy that allows
exactly the AWS calls the package makes.

"What the code touches" is read from the package source: every boto3 client call, awswrangler
call and pyarrow S3 filesystem is found by walking the AST, and ``CALL_ACTIONS`` below maps each one to the IAM actions it needs.
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
from types import SimpleNamespace

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
    ("wr.s3", "list_objects"): [("s3:ListBucket", "bucket")],
    ("wr.s3", "read_parquet_metadata"): [("s3:GetObject", "objects"), ("kms:Decrypt", "key")],
    # pyarrow's S3 filesystem (storage/s3_lake.py): the lake's reads, by listing, HEAD and ranged GET. HEAD
    # answers 404 for a missing key only with ListBucket (403 otherwise), and the lake relies on it.
    ("pyarrow.fs", "S3FileSystem"): [
        ("s3:GetObject", "objects"),
        ("s3:ListBucket", "bucket"),
        ("kms:Decrypt", "key"),
    ],
    # awswrangler Glue (catalog/glue.py): the database, the table created or evolved, partitions added.
    ("wr.catalog", "create_database"): [("glue:GetDatabase", GLUE), ("glue:CreateDatabase", GLUE)],
    ("wr.catalog", "get_table_types"): [("glue:GetTable", GLUE)],
    ("wr.catalog", "get_table_location"): [("glue:GetTable", GLUE)],
    ("wr.catalog", "create_parquet_table"): [
        ("glue:GetTable", GLUE),
        ("glue:CreateTable", GLUE),
        ("glue:UpdateTable", GLUE),
    ],
    ("wr.catalog", "add_parquet_partitions"): [("glue:BatchCreatePartition", GLUE)],
    # boto3 Glue client (catalog/glue.py): what awswrangler lacks, existing partitions' columns brought in line.
    ("glue", "get_table"): [("glue:GetTable", GLUE)],
    ("glue", "batch_get_partition"): [("glue:BatchGetPartition", GLUE)],
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
        ("glue:GetTables", GLUE),  # Athena resolves the tables a view names by listing the database
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
    # The Athena gold engine reads the files it staged in gold (its data manifest is in the Athena results
    # bucket, readable through the results grant).
    "catalog/athena_gold.py": ("gold",),
}
RESULTS_BUCKET = "athena-results"


# --- reading the package ----------------------------------------------------------------------------


def aws_calls(source: str) -> set[tuple[str, str]]:
    """(service, operation) of every boto3 client call and every ``wr.<module>.<function>`` call, and
    ("pyarrow.fs", "S3FileSystem") where a pyarrow S3 filesystem is made (whatever it is then asked)."""
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
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("S3FileSystem"):
            calls.add(("pyarrow.fs", "S3FileSystem"))
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver, operation = node.func.value, node.func.attr
        service = clients.get(ast.unparse(receiver)) or client_service(receiver)
        if service:
            if operation == "get_paginator":
                operation = node.args[0].value
            calls.add((service, operation))
        elif isinstance(receiver, ast.Attribute) and (
            (isinstance(receiver.value, ast.Name) and receiver.value.id in wrangler)
            # storage.aws.wrangler() imports awswrangler on first use: wrangler().s3.upload(...)
            or (isinstance(receiver.value, ast.Call) and ast.unparse(receiver.value.func) == "wrangler")
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
    # The layers of the tables the Athena gold assets read (the silver Iceberg tables they depend on).
    unload_read_layers = {dep.asset_key.path[0] for a in athena_gold_assets for dep in a.specs_by_key[a.key].deps}
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
    # aws_endpoint_url is a developer override (moto, LocalStack), passed on to pyiceberg's Glue catalog,
    # which does not follow boto3's own AWS_ENDPOINT_URL chain: never something Terraform outputs.
    aws_fields = [
        f
        for f in settings.Settings.__dataclass_fields__
        if (f.endswith("_uri") or f.startswith(("glue_", "athena_", "aws_"))) and f != "aws_endpoint_url"
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
        # The budget covers the deployment's own monthly cost (the README's Deploy to production lists it).
        assert values["monthly_budget_usd"] == {"dev": 60, "prod": 80}[env]
        # Alarms notify somebody.
        assert values["alert_emails"] and all("@" in unquote(a) for a in values["alert_emails"])
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
            {unquote(prefix): days for prefix, days in value["expire_prefixes"].items()},
        )
        for layer, value in layers.items()
    }
    assert plan == {
        "landing": ([], 0, {}),
        "bronze": ([(30, "INTELLIGENT_TIERING"), (90, "GLACIER_IR")], 365, {}),
        # Silver stays in Standard: the history tables read all of it every night.
        "silver": ([], 0, {}),
        # What the Athena gold engine UNLOADs into <gold uri>/_staging/ and a dead run leaves behind.
        "gold": ([], 730, {"_staging/": 2}),
        "athena-results": ([], 7, {}),
    }
    # The prefix is where the lake stages (gold URIs are bucket roots in Terraform's outputs).
    from ecommerce_pipeline.storage.s3_lake import S3Lake

    staging = S3Lake.staging_location(SimpleNamespace(layers={"gold": "s3://g"}), "gold/clv", "run1")
    assert staging == "s3://g/_staging/clv/run1/"
    lifecycle = blocks(INFRA / "modules/s3/modules/bucket", "resource")["aws_s3_bucket_lifecycle_configuration.this"]
    prefix_rule = {unquote(k): v for k, v in lifecycle["dynamic"][0].items()}["rule"]
    assert unquote(prefix_rule["for_each"]) == "var.expire_prefixes"
    assert unquote(prefix_rule["content"][0]["filter"][0]["prefix"]) == "rule.key"
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
        "        wrangler().catalog.delete_table_if_exists(database='d', table='t')\n"
    )
    calls = aws_calls(source)
    assert calls == {
        ("glue", "delete_table"),
        ("athena", "stop_query_execution"),
        ("wr.s3", "copy_objects"),
        ("wr.catalog", "delete_table_if_exists"),
    }
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


# --- the orchestrator on ECS: image, instance database, services, monitoring -------------------------------------

DEPLOY_YAML = ROOT / "deploy" / "aws" / "dagster.yaml"


def settings_variables() -> set[str]:
    """Every variable settings.py reads (Settings and AlertSettings)."""
    return set(re.findall(r'env\.get\("([A-Z_]+)"', (PACKAGE / "settings.py").read_text()))


def instance_variables() -> set[str]:
    """The variables deploy/aws/dagster.yaml reads with ``env:``."""
    import yaml

    found = set()

    def walk(node):
        if isinstance(node, dict):
            if set(node) == {"env"}:
                found.add(node["env"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(DEPLOY_YAML.read_text()))
    return found


def ecs_locals() -> dict:
    merged = {}
    for block in load(INFRA / "modules/ecs/main.tf")["locals"]:
        merged.update(block)
    return merged


def strip_interpolation(expression: str) -> str:
    return unquote(unquote(expression)) if isinstance(expression, str) else expression


def test_task_environment_is_generated_from_what_settings_reads():
    environment = {k: v for k, v in load(INFRA / "main.tf")["locals"][0]["pipeline_environment"].items()}
    read = settings_variables()
    assert set(environment) <= read, f"the tasks set variables settings.py never reads: {set(environment) - read}"
    # Every AWS variable the code needs is set, and ECOM_ENV selects the AWS resources.
    assert aws_env_vars() | {"ECOM_ENV"} <= set(environment)
    assert unquote(environment["ECOM_ENV"]) == "aws"
    # The same value as the output named after the variable (what an operator exports by hand).
    outputs = named(INFRA, "output")
    for variable in aws_env_vars():
        assert unquote(environment[variable]) == unquote(outputs[variable.lower()]["value"]), variable
    # The module receives it merged with the operator's extra ECOM_* variables (settings reads those too).
    ecs = named(INFRA, "module")["ecs"]
    assert unquote(ecs["pipeline_environment"]) == "merge(var.pipeline_extra_environment, local.pipeline_environment)"
    validation = named(INFRA, "variable")["pipeline_extra_environment"]["validation"][0]
    assert "^ECOM_[A-Z_]+$" in validation["condition"]
    assert {v for v in read if v.startswith("ECOM_")} <= {
        v for v in re.findall(r"`([A-Z_]+)`", (ROOT / "README.md").read_text())
    }


def test_task_environment_gives_the_instance_every_variable_its_yaml_reads():
    local = ecs_locals()
    instance = set(local["instance_environment"]) | {"DAGSTER_RUN_TASK_DEFINITION"}
    secrets = {unquote(s["name"]) for s in local["secrets"]}
    assert secrets == {"DAGSTER_PG_PASSWORD"}  # from Secrets Manager, never a plain value
    assert instance | secrets == instance_variables() | {"PGSSLMODE"}
    assert unquote(local["instance_environment"]["PGSSLMODE"]) == "require"
    assert unquote(local["secrets"][0]["valueFrom"]) == "var.database.password_secret_arn"
    assert unquote(local["environment"]) == "merge(var.pipeline_environment, local.instance_environment)"
    # The run task names its own family; the services name the run task definition's current revision, so a
    # new revision redeploys them (their EcsRunLauncher resolves it once, at start).
    resources = blocks(INFRA / "modules/ecs", "resource")
    run = resources["aws_ecs_task_definition.run"]["container_definitions"].replace(" ", "")
    service = resources["aws_ecs_task_definition.service"]["container_definitions"].replace(" ", "")
    assert "merge(local.environment,{DAGSTER_RUN_TASK_DEFINITION=local.run_family})" in run
    assert "merge(local.environment,{DAGSTER_RUN_TASK_DEFINITION=aws_ecs_task_definition.run.arn})" in service
    assert unquote(resources["aws_ecs_task_definition.run"]["family"]) == "local.run_family"
    # The run container is the one deploy/aws/dagster.yaml launches.
    import yaml

    launcher = yaml.safe_load(DEPLOY_YAML.read_text())["run_launcher"]["config"]
    assert set(local["containers"]) == {"webserver", "daemon", launcher["container_name"]}
    assert 'local.containers["run"]' in run and "local.containers[each.key]" in service
    assert "environment" not in local["container_defaults"]  # always set with DAGSTER_RUN_TASK_DEFINITION
    defaults = local["container_defaults"]
    assert unquote(defaults["secrets"]) == "local.secrets"
    assert defaults["readonlyRootFilesystem"] is True
    # Each of them is a row of the README's Configuration table.
    readme = (ROOT / "README.md").read_text()
    for variable in instance | secrets:
        assert re.search(rf"^\| `{variable}` \|", readme, re.M), (
            f"{variable} is not in the README's Configuration table"
        )


def test_containers_log_to_the_group_the_metric_filters_watch():
    resources = blocks(INFRA / "modules/ecs", "resource")
    assert '"awslogs-group"         = var.log_group_name' in (INFRA / "modules/ecs/main.tf").read_text()
    log_configuration = ecs_locals()["log_configuration"]
    assert unquote(log_configuration).startswith("{for name in keys(local.containers) : name => {")
    assert (
        'logConfiguration = local.log_configuration["run"]'
        in resources["aws_ecs_task_definition.run"]["container_definitions"]
    )
    service = resources["aws_ecs_task_definition.service"]["container_definitions"]
    assert "logConfiguration = local.log_configuration[each.key]" in service
    assert unquote(named(INFRA, "module")["ecs"]["log_group_name"]) == "module.monitoring.pipeline_log_group"
    monitoring = blocks(INFRA / "modules/monitoring", "resource")
    outputs = named(INFRA / "modules/monitoring", "output")
    assert unquote(outputs["pipeline_log_group"]["value"]) == "aws_cloudwatch_log_group.pipeline.name"
    filters = {k: v for k, v in monitoring.items() if k.startswith("aws_cloudwatch_log_metric_filter.")}
    assert set(filters) == {
        "aws_cloudwatch_log_metric_filter.failed_runs",
        "aws_cloudwatch_log_metric_filter.succeeded_runs",
        "aws_cloudwatch_log_metric_filter.quarantined_rows",
    }
    for body in filters.values():
        assert unquote(body["log_group_name"]) == "aws_cloudwatch_log_group.pipeline.name"
    # The patterns match what is logged: the console logger prints the event type's name
    # ("... - RUN_SUCCESS - Finished execution of run ..."), and the bronze assets log their quarantine count last.
    import dagster as dg

    assert dg.DagsterEventType.RUN_SUCCESS.name in unquote(
        filters["aws_cloudwatch_log_metric_filter.succeeded_runs"]["pattern"]
    )
    assert dg.DagsterEventType.RUN_FAILURE.name in unquote(
        filters["aws_cloudwatch_log_metric_filter.failed_runs"]["pattern"]
    )
    assert (
        'f"bronze/{entity.name} quarantined_rows {quarantined}"'
        in (PACKAGE / "defs/bronze/assets.py").read_text()
    )
    assert (
        'label = \\"quarantined_rows\\", rows]'
        in filters["aws_cloudwatch_log_metric_filter.quarantined_rows"]["pattern"]
    )


def test_alarms_notify_and_the_heartbeat_breaches_on_silence():
    monitoring = blocks(INFRA / "modules/monitoring", "resource")
    alarms = {k: v for k, v in monitoring.items() if k.startswith("aws_cloudwatch_metric_alarm.")}
    for name, alarm in alarms.items():
        assert [unquote(a) for a in alarm["alarm_actions"]] == ["aws_sns_topic.alerts.arn"], name
    # Only the Athena alarm reads missing data as fine (no query scanned nothing); on the runtime's logs, silence
    # is never healthy.
    missing = {name: unquote(alarm["treat_missing_data"]) for name, alarm in alarms.items()}
    assert missing == {
        "aws_cloudwatch_metric_alarm.failed_runs": "missing",
        "aws_cloudwatch_metric_alarm.no_successful_run": "breaching",
        "aws_cloudwatch_metric_alarm.athena_bytes_scanned": "notBreaching",
    }
    heartbeat = alarms["aws_cloudwatch_metric_alarm.no_successful_run"]
    assert unquote(heartbeat["metric_name"]).startswith("aws_cloudwatch_log_metric_filter.succeeded_runs")
    assert heartbeat["period"] * heartbeat["evaluation_periods"] == 36 * 3600
    # PutMetricAlarm allows more than a day of evaluation only with periods of an hour or more (7 days at most).
    assert heartbeat["period"] >= 3600
    assert heartbeat["datapoints_to_alarm"] == heartbeat["evaluation_periods"]  # every hour without a success
    assert (heartbeat["threshold"], unquote(heartbeat["comparison_operator"])) == (1, "LessThanThreshold")
    assert unquote(heartbeat["treat_missing_data"]) == "breaching"
    # The succeeded-runs filter emits nothing (not 0) without a success, so a silent deployment is missing data.
    assert (
        "default_value" not in monitoring["aws_cloudwatch_log_metric_filter.succeeded_runs"]["metric_transformation"][0]
    )
    subscription = monitoring["aws_sns_topic_subscription.email"]
    assert unquote(subscription["for_each"]) == "toset(var.alert_emails)"
    validation = named(INFRA, "variable")["alert_emails"]
    assert "default" not in validation and "length(var.alert_emails) > 0" in validation["validation"][0]["condition"]


def test_dashboard_shows_runs_failures_quarantine_athena_and_cost():
    text = (INFRA / "modules/monitoring/main.tf").read_text()
    dashboard = text[text.index('resource "aws_cloudwatch_dashboard" "pipeline"') :]
    for metric in ('"SucceededRuns"', '"FailedRuns"', '"QuarantinedRows"', '"ProcessedBytes"', '"EstimatedCharges"'):
        assert metric in dashboard, metric


def test_budget_counts_only_this_projects_cost():
    budget = blocks(INFRA / "modules/monitoring", "resource")["aws_budgets_budget.monthly"]
    (cost_filter,) = budget["cost_filter"]
    assert unquote(cost_filter["name"]) == "TagKeyValue"
    assert [unquote(v) for v in cost_filter["values"]] == ["user:project$${var.project_tag}"]
    assert unquote(named(INFRA, "module")["monitoring"]["project_tag"]) == "var.project"
    tag = blocks(INFRA / "modules/monitoring", "resource")["aws_ce_cost_allocation_tag.project"]
    assert unquote(tag["tag_key"]) == "project" and unquote(tag["status"]) == "Active"
    assert (
        unquote(named(INFRA, "module")["monitoring"]["activate_cost_allocation_tag"])
        == "var.activate_cost_allocation_tag"
    )
    provider = load(INFRA / "versions.tf")["provider"][0]
    assert unquote(provider[next(iter(provider))]["default_tags"][0]["tags"]["project"]) == "var.project"


def test_service_trust_policies_name_the_source_account():
    trusts = [
        blocks(INFRA / "modules/iam", "data")["aws_iam_policy_document.trust"]["statement"][0],
        blocks(INFRA / "modules/ecs", "data")["aws_iam_policy_document.ecs_tasks_trust"]["statement"][0],
    ]
    for statement in trusts:
        conditions = {unquote(c["variable"]): c for c in statement["condition"]}
        assert unquote(conditions["aws:SourceAccount"]["test"]) == "StringEquals"
        assert "aws:SourceArn" in conditions


def test_runs_use_the_pipeline_role_and_the_orchestrator_does_not():
    resources = blocks(INFRA / "modules/ecs", "resource")
    assert unquote(resources["aws_ecs_task_definition.run"]["task_role_arn"]) == "var.pipeline_role_arn"
    assert unquote(resources["aws_ecs_task_definition.service"]["task_role_arn"]) == "aws_iam_role.orchestrator.arn"
    assert unquote(named(INFRA, "module")["ecs"]["pipeline_role_arn"]) == "module.iam.pipeline_role_arn"
    # Statements on "*" are only for actions without resource-level permissions, each named here.
    unscoped = set()
    for policy in ("orchestrator", "execution", "run_worker", "ui_access"):
        for statement in blocks(INFRA / "modules/ecs", "data")[f"aws_iam_policy_document.{policy}"]["statement"]:
            if [unquote(r) for r in statement["resources"]] == ["*"]:
                unscoped.update(unquote(a) for a in statement["actions"])
    assert unscoped == {
        "ecr:GetAuthorizationToken",
        "ecs:DescribeTaskDefinition",
        "ec2:DescribeNetworkInterfaces",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    }


def test_one_daemon_one_webserver_and_the_ui_only_through_ssm():
    service = blocks(INFRA / "modules/ecs", "resource")["aws_ecs_service.this"]
    assert unquote(service["for_each"]) == 'toset(["webserver", "daemon"])'
    assert service["desired_count"] == 1
    # A deployment stops the old daemon before starting the new one: never two daemons ticking sensors.
    assert unquote(service["deployment_minimum_healthy_percent"]) == 'each.key == "daemon" ? 0 : 100'
    assert unquote(service["deployment_maximum_percent"]) == 'each.key == "daemon" ? 100 : 200'
    assert unquote(service["enable_execute_command"]) == 'each.key == "webserver"'
    assert "load_balancer" not in service  # nothing public in front of the UI
    everything = {}
    for module in ("network", "ecs", "rds"):
        everything.update(blocks(INFRA / "modules" / module, "resource"))
    ingress = [body for key, body in everything.items() if key.startswith("aws_vpc_security_group_ingress_rule.")]
    # The only inbound rule of the deployment: PostgreSQL into the database, from the tasks.
    assert [unquote(r["security_group_id"]) for r in ingress] == ["aws_security_group.database.id"]
    assert unquote(ingress[0]["referenced_security_group_id"]) == "var.tasks_security_group_id"
    assert unquote(named(INFRA, "module")["rds"]["tasks_security_group_id"]) == "module.ecs.tasks_security_group_id"
    assert "ingress" not in everything["aws_security_group.tasks"]
    ui = blocks(INFRA / "modules/ecs", "data")["aws_iam_policy_document.ui_access"]["statement"]
    session = next(s for s in ui if [unquote(a) for a in s["actions"]] == ["ssm:StartSession"])
    assert any("document/AWS-StartPortForwardingSession" in r for r in session["resources"])


def test_the_database_is_encrypted_private_and_its_password_a_secret():
    rds = blocks(INFRA / "modules/rds", "resource")
    database = rds["aws_db_instance.this"]
    assert database["storage_encrypted"] is True and database["publicly_accessible"] is False
    assert unquote(database["kms_key_id"]) == "var.kms_key_arn"
    assert unquote(database["password"]) == "random_password.master.result"
    assert unquote(rds["aws_secretsmanager_secret_version.master"]["secret_string"]) == "random_password.master.result"
    assert unquote(named(INFRA, "module")["rds"]["subnet_ids"]) == "module.network.database_subnet_ids"
    parameters = {unquote(p["name"]): unquote(p["value"]) for p in rds["aws_db_parameter_group.this"]["parameter"]}
    assert parameters["rds.force_ssl"] == "1"
    # The database subnets' route table has no route at all: nothing leaves the VPC from there.
    network = blocks(INFRA / "modules/network", "resource")
    routes = [body for key, body in network.items() if key.startswith("aws_route.")]
    assert [unquote(r["route_table_id"]) for r in routes] == ["aws_route_table.public.id"]


def test_glue_crawler_logs_are_kept_for_log_retention_days():
    group = blocks(INFRA / "modules/glue", "resource")["aws_cloudwatch_log_group.crawler"]
    assert unquote(group["retention_in_days"]) == "var.log_retention_days"
    assert "${aws_glue_security_configuration.crawler.name}" in unquote(group["name"])


def test_the_quarantined_rows_filter_reads_the_line_the_bronze_assets_log(project_env, store_landing, write_landing):
    """CloudWatch's space-delimited pattern ``[..., label = "quarantined_rows", rows]`` matches a line whose
    second-to-last word is ``quarantined_rows`` and takes the last as the value: check that on a real run."""
    import dagster as dg

    from ecommerce_pipeline.defs.bronze.assets import bronze_assets
    from ecommerce_pipeline.defs.resources import resources_for
    from ecommerce_pipeline.storage.io_manager import InMemoryLakeIOManager

    from .conftest import DAY

    # Two orders that break bronze rules (no order id; a timestamp that is not one), beside the valid store.
    broken = [
        {"order_id": "", "customer_id": "C1", "order_ts": "2025-01-01T10:00:00Z", "status": "delivered"},
        {"order_id": "O9", "customer_id": "C1", "order_ts": "yesterday", "status": "delivered"},
    ]
    write_landing("orders", broken, name="late_export.csv")
    resources = {**resources_for(settings.load_settings()), "io_manager": InMemoryLakeIOManager()}
    with dg.instance_for_test() as instance:
        result = dg.materialize(bronze_assets, partition_key=DAY.isoformat(), resources=resources, instance=instance)
        assert result.success
        lines = [e.user_message for e in instance.all_logs(result.run_id) if "quarantined_rows" in e.user_message]
    counted = {}
    for line in lines:
        *_, table, label, rows = line.split()
        assert label == "quarantined_rows" and rows.isdigit(), line
        counted[table] = int(rows)
    quarantined = {}
    for node in {a.node_def.name for a in bronze_assets}:
        entity = node.removeprefix("bronze_")
        (materialization,) = [
            m for m in result.asset_materializations_for_node(node) if m.asset_key.path[0] == "quarantine"
        ]
        quarantined[f"bronze/{entity}"] = materialization.metadata["dagster/row_count"].value
    assert counted == quarantined and counted["bronze/orders"] == 2
