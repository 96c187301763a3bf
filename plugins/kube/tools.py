"""kubecfg of Kubernetes v0.3, from the flat binaries.tar.gz the seed downloaded."""

from kshell import Release, Tool

# The 2014 archive was overwritten in place and never had a published digest:
# trust on first use, then enforced.
KUBECFG = Tool(
    name="kubecfg",
    version="0.3",
    help="Kubernetes v0.3 command-line client",
    releases={
        "linux-amd64": Release(
            "https://storage.googleapis.com/kubernetes/binaries.tar.gz", "tar.gz", "kubecfg"
        ),
    },
    version_args=("-version",),
    version_pattern=r"Kubernetes v(\d+\.\d+(?:\.\d+)?)",
    env_prefixes=("KUBERNETES_", "KUBECFG_"),
)
