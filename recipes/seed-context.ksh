# seed-context.ksh: the endpoints the seed's operator exported in every terminal
# (ETCDCTL_PEERS, FLEETCTL_ENDPOINT, KUBERNETES_MASTER), kept as a kshell context.
#
# Variables:
#   ETCD     the etcd client URL, e.g. http://10.1.1.245:4001 (required)
#   MASTER   the Kubernetes API server as seen from here (default http://127.0.0.1:8080,
#            where the seed's tunnel ended; while `kube tunnel open` holds a tunnel, its
#            local end is the master instead)
#   NAME     the context's name (default idcf)
# Needs:     nothing (no cluster is contacted)
# Leaves:    the context NAME in kshell's config, and in use; fails if NAME exists
#
#   kshell run recipes/seed-context.ksh --var ETCD=http://10.1.1.245:4001
context add ${NAME:-idcf} --set etcd.endpoint=${ETCD} --set fleet.endpoint=${ETCD} \
    --set kube.master=${MASTER:-http://127.0.0.1:8080}
use ${NAME:-idcf}
context
