# kubernetes-fleet.ksh: Kubernetes v0.3 on the fleet cluster, as the seed did it with
# kelseyhightower/kubernetes-fleet-tutorial's units: proxy and kubelet on every node,
# apiserver, scheduler and controller-manager on the master (the scheduler is the unit
# the seed's first attempt missed), kube-register, then the minions through the tunnel.
#
# Variables:
#   ETCD         the etcd URL the nodes use, e.g. http://10.1.1.245:4001 (required)
#   UNITS        where the rendered units are written (default ./kubernetes-units)
#   NODES        how many minions to wait for (default 3, the seed's)
#   MASTER_SSH   USER@HOST of the master for the tunnel (default: the context's
#                tunnel setting), e.g. core@10.1.0.77
#   TIMEOUT      seconds to wait for the units and for the minions (default 300)
# Needs:         the machines up in fleet with role=kubernetes (idcf-coreos-cluster.ksh),
#                the context's fleet endpoint (seed-context.ksh), ssh to the master
# Leaves:        the unit files in UNITS, the six units running in fleet, an SSH tunnel
#                to the API server (`kube tunnel close` ends it)
#
#   kshell run recipes/kubernetes-fleet.ksh --var ETCD=http://10.1.1.245:4001 \
#       --var MASTER_SSH=core@10.1.0.77
set UNITS=kubernetes-units
set TIMEOUT=300
kube units render --etcd ${ETCD} --out ${UNITS}
# global units: one per machine with role=kubernetes
fleet start ${UNITS}/kube-proxy.service ${UNITS}/kube-kubelet.service
fleet start ${UNITS}/kube-apiserver.service
fleet start ${UNITS}/kube-scheduler.service
fleet start ${UNITS}/kube-controller-manager.service
fleet start ${UNITS}/kube-register.service
fleet wait kube-apiserver.service kube-scheduler.service kube-controller-manager.service \
    kube-register.service kube-proxy.service kube-kubelet.service \
    --state active --timeout ${TIMEOUT}
kube tunnel open ${MASTER_SSH:-}
kube wait minions ${NODES:-3} --timeout ${TIMEOUT}
kube minions
kube pods
