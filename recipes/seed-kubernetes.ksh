# The seed's Kubernetes part: the units of kelseyhightower/kubernetes-fleet-tutorial
# (with the etcd address edited in), started with fleet, then the minions listed.
#   kshell run recipes/seed-kubernetes.ksh --var UNITS=~/kubernetes-fleet-tutorial/units
set UNITS=units
# kube-proxy and kubelet are global units: one per machine with role=kubernetes
fleet start ${UNITS}/kube-proxy.service ${UNITS}/kube-kubelet.service
# the master's three units; the scheduler is the one the seed's first attempt forgot
fleet start ${UNITS}/kube-apiserver.service
fleet start ${UNITS}/kube-scheduler.service
fleet start ${UNITS}/kube-controller-manager.service
fleet wait kube-apiserver.service kube-scheduler.service kube-controller-manager.service \
    --state active --timeout 300
fleet start ${UNITS}/kube-register.service
fleet units
kubecfg list /minions
