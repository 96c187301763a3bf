# kubernetes-fleet.ksh: Kubernetes v0.3 on the fleet cluster, as the seed did it with
# kelseyhightower/kubernetes-fleet-tutorial's units: proxy and kubelet on every node,
# apiserver, scheduler and controller-manager on the master (the scheduler is the unit
# the seed's first attempt missed), kube-register, then the minions through the tunnel.
#
# Variables:
#   ETCD         the etcd URL the nodes use, e.g. http://10.1.1.245:4001 (required)
#   UNITS        where the rendered units are written (default ./kubernetes-units)
#   NODES        how many minions to wait for (default 3, the seed's)
#   MASTER_SSH   USER@HOST[:PORT] of the master for the tunnel, e.g. core@10.1.0.77
#                (default: the context's kube.tunnel.host, else core@ the address fleet
#                shows for the machine running kube-apiserver.service)
#   TIMEOUT      seconds to wait for each start, for the units to be active and for the
#                minions (default 300)
# Needs:         the machines up in fleet with role=kubernetes (idcf-coreos-cluster.ksh),
#                the context's fleet endpoint (seed-context.ksh), ssh to the master with a
#                key (no password prompt); the tunnel's local end is the context's
#                kube.tunnel.local-port, or a free port
# Leaves:        the unit files in UNITS, the six units running in fleet. The tunnel
#                closes when the run ends (at the prompt, `run` keeps it open for the
#                session until `kube tunnel close`); guestbook.ksh opens its own.
#
#   kshell run recipes/kubernetes-fleet.ksh --var ETCD=http://10.1.1.245:4001 \
#       --var MASTER_SSH=core@10.1.0.77
set UNITS=kubernetes-units
set NODES=3
set TIMEOUT=300
kube units render --etcd ${ETCD} --out ${UNITS}
# global units: one per machine with role=kubernetes
fleet start ${UNITS}/kube-proxy.service ${UNITS}/kube-kubelet.service --timeout ${TIMEOUT}
fleet start ${UNITS}/kube-apiserver.service --timeout ${TIMEOUT}
fleet start ${UNITS}/kube-scheduler.service --timeout ${TIMEOUT}
fleet start ${UNITS}/kube-controller-manager.service --timeout ${TIMEOUT}
fleet start ${UNITS}/kube-register.service --timeout ${TIMEOUT}
fleet wait kube-apiserver.service kube-scheduler.service kube-controller-manager.service \
    kube-register.service kube-proxy.service kube-kubelet.service \
    --state active --timeout ${TIMEOUT}
kube tunnel open ${MASTER_SSH:-}
kube wait minions ${NODES} --timeout ${TIMEOUT}
kube minions
kube pods
