"""The recipes under recipes/: documented, checked in a dry run, rudder-network.ksh for real
(through $KSHELL_TEST_ETCDCTL's etcdctl when it names one).

kubernetes-fleet.ksh, idcf-coreos-cluster.ksh and guestbook.ksh use the kube and idcf
plugins' commands; while a plugin is not installed its recipes are skipped here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_recipes_run import keys, kshell, put, value_of, write_config

from kshell.session import open_session

RECIPES = Path(__file__).parent.parent / "recipes"
SHIPPED = sorted(RECIPES.glob("*.ksh"))
VARS = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def test_the_procedure_ships_as_recipes():
    names = {p.name for p in SHIPPED}
    assert {
        "seed-context.ksh", "rudder-network.ksh", "kubernetes-fleet.ksh",
        "idcf-coreos-cluster.ksh", "idcf-machines.ksh", "guestbook.ksh",
    } <= names  # fmt: skip


@pytest.mark.parametrize("recipe", SHIPPED, ids=lambda p: p.name)
def test_each_recipe_starts_by_naming_its_variables_needs_and_leavings(recipe):
    text = recipe.read_text()
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    head = "\n".join(header)
    assert "Needs:" in head and "Leaves:" in head, recipe
    assert f"kshell run recipes/{recipe.name}" in head  # how to run it
    body = text[len(head) :]
    for name in set(VARS.findall(body)) - {"RECIPE_DIR"}:
        assert re.search(rf"#\s+(\S+, )*{name}\b", head), f"{recipe.name}: ${{{name}}} undocumented"


def test_guestbook_resources_are_the_v1beta1_objects_it_creates():
    text = (RECIPES / "guestbook.ksh").read_text()
    made = re.findall(r"kube create -c \$\{GUESTBOOK\}/(\S+) (\S+)", text)
    kinds = {"pods": "Pod", "services": "Service", "replicationControllers":
             "ReplicationController"}  # fmt: skip
    assert len(made) == 6
    for name, kind in made:
        obj = json.loads((RECIPES / "guestbook" / name).read_text())
        assert obj["apiVersion"] == "v1beta1" and obj["kind"] == kinds[kind], name
        assert obj["id"] in text or kind != "pods"


def _missing_commands(recipe: Path) -> set[str]:
    """Plugin command groups a recipe uses that are not installed here."""
    table = open_session().host.commands
    used = set(re.findall(r"^\s*(kube|idcf)\b", recipe.read_text(), re.M))
    return {group for group in used if not table.is_group((group,))}


@pytest.mark.parametrize("recipe", SHIPPED, ids=lambda p: p.name)
def test_each_recipe_passes_a_dry_run(recipe, home, etcd, tmp_path):
    missing = _missing_commands(recipe)
    if missing:
        pytest.skip(f"needs the {', '.join(sorted(missing))} plugin")
    write_config(home, etcd.url)
    (tmp_path / "id.pub").write_text("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 core@operator\n")
    variables = {
        "ETCD": etcd.url, "UNITS": str(tmp_path / "units"), "ZONE": "tesla", "OFFERING": "S4",
        "DISK_OFFERING": "Medium", "SSH_KEY": str(tmp_path / "id.pub"), "ETCD_IP": "10.1.1.245",
        "CONFIGS": str(tmp_path / "configs"), "MASTER_SSH": "core@10.1.0.77",
    }  # fmt: skip
    flags = [f"--var={k}={v}" for k, v in variables.items()]
    key = "A" * 86  # the shape of an IDCF key; the dry run must send nothing with it
    idcf = {"IDCF_COMPUTE_HOST": "http://127.0.0.1:9/client/api",
            "IDCF_COMPUTE_API_KEY": key, "IDCF_COMPUTE_SECRET_KEY": key}  # fmt: skip
    r = kshell(home, "run", str(recipe), "--dry-run", "--quiet", *flags, env=idcf)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert keys(etcd.url) == []
    assert not (tmp_path / "units").exists() and not (tmp_path / "configs").exists()


# -- rudder-network.ksh, for real ---------------------------------------------------------


def test_rudder_network_for_real(home, etcd):
    write_config(home, etcd.url)
    recipe = str(RECIPES / "rudder-network.ksh")
    put(etcd.url, "/coreos.com/network/subnets/10.0.5.0-24", '{"PublicIP":"10.1.1.180"}')
    r = kshell(home, "run", recipe)
    assert r.returncode == 0, r.stderr
    config = json.loads(value_of(etcd.url, "/coreos.com/network/config"))
    assert config["Network"] == "10.0.0.0/16"
    lines = Path(recipe).read_text().splitlines()
    set_line = 1 + next(i for i, t in enumerate(lines) if t.startswith("rudder config set"))
    assert f"{recipe}:{len(lines)}: rudder subnets" in r.stderr.splitlines()
    assert re.search(r"^10\.0\.5\.0/24\s+10\.1\.1\.180\s", r.stdout, re.M), r.stdout
    # again: nothing changes
    r = kshell(home, "run", recipe, "--quiet")
    assert r.returncode == 0 and "unchanged: /coreos.com/network/config" in r.stdout
    # another network is not written over: the line fails, says why and how to resume
    r = kshell(home, "run", recipe, "--quiet", "--var", "NETWORK=10.99.0.0/16")
    assert r.returncode == 1
    assert "replace it with --force" in r.stderr
    assert f"{recipe}:{set_line}: `rudder config set --network 10.99.0.0/16` failed" in r.stderr
    assert json.loads(value_of(etcd.url, "/coreos.com/network/config")) == config



def _readme_runs() -> list[str]:
    """The ``kshell run recipes/…`` commands of README.md's Recipes section, joined."""
    readme = (RECIPES.parent / "README.md").read_text()
    section = readme.split("\n## Recipes\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    return [" ".join(line.split()) for line in block.splitlines() if line.startswith("kshell run")]


def test_readme_shows_the_procedure_as_the_recipes_say_to_run_them():
    runs = _readme_runs()
    assert [r.split()[2] for r in runs] == [
        "recipes/idcf-coreos-cluster.ksh", "recipes/kubernetes-fleet.ksh", "recipes/guestbook.ksh",
    ]  # fmt: skip
    for run in runs:
        recipe = RECIPES.parent / run.split()[2]
        header = "".join(
            line.lstrip("#") for line in recipe.read_text().splitlines() if line.startswith("#")
        ).replace("\\", " ")
        assert run in " ".join(header.split()), f"{recipe.name}'s header shows another command"


def test_the_readme_commands_pass_a_dry_run(home, etcd, tmp_path):
    write_config(home, etcd.url)
    op = tmp_path / "op"  # HOME and the working directory
    (op / ".ssh").mkdir(parents=True)
    (op / ".ssh" / "deis.pub").write_text("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 op\n")
    key = "A" * 86
    env = {"HOME": str(op), "IDCF_COMPUTE_HOST": "http://127.0.0.1:9/client/api",
           "IDCF_COMPUTE_API_KEY": key, "IDCF_COMPUTE_SECRET_KEY": key}  # fmt: skip
    for run in _readme_runs():
        argv = [w.replace("~", str(op)) for w in run.split()[1:]]
        argv[1] = str(RECIPES.parent / argv[1])
        r = kshell(home, *argv, "--dry-run", "--quiet", env=env, cwd=op)
        assert r.returncode == 0, (run, r.stdout, r.stderr)
    assert keys(etcd.url) == [] and [p.name for p in op.iterdir()] == [".ssh"]
