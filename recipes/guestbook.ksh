# guestbook.ksh: the GuestBook example of Kubernetes v0.3 (examples/guestbook): a redis
# master pod and its service, a redis slave controller (2 replicas) and its service, a
# PHP frontend controller (3 replicas) and its service. The v1beta1 JSON files are in
# recipes/guestbook/.
#
# Variables:
#   MASTER_SSH  USER@HOST[:PORT] of the master for the tunnel, as in kubernetes-fleet.ksh
#               (default: the context's kube.tunnel.host, else the machine fleet runs
#               kube-apiserver.service on)
#   TIMEOUT     seconds to wait for the redis master pod to run (default 300)
#   GUESTBOOK   the directory of the JSON files (default: guestbook/ beside this recipe)
# Needs:      the Kubernetes master of kubernetes-fleet.ksh (API server, scheduler,
#             controller-manager) with its minions registered, ssh to it with a key; an
#             already open tunnel to the same host is used as it is
# Leaves:     pod redis-master-2, controllers redisSlaveController and frontendController,
#             services redismaster (port 10000), redisslave (10001) and frontend (9998);
#             the frontend answers on port 8000 of the minions that run it. The tunnel
#             closes when the run ends.
#
#   kshell run recipes/guestbook.ksh --var MASTER_SSH=core@10.1.0.77
set TIMEOUT=300
set GUESTBOOK=${RECIPE_DIR}/guestbook
kube tunnel open ${MASTER_SSH:-}
kube create -c ${GUESTBOOK}/redis-master.json pods
kube create -c ${GUESTBOOK}/redis-master-service.json services
kube create -c ${GUESTBOOK}/redis-slave-controller.json replicationControllers
kube create -c ${GUESTBOOK}/redis-slave-service.json services
kube create -c ${GUESTBOOK}/frontend-controller.json replicationControllers
kube create -c ${GUESTBOOK}/frontend-service.json services
# the images are pulled meanwhile; Running once the minion's docker runs redis
kube wait pod redis-master-2 --state Running --timeout ${TIMEOUT}
kube pods
kube rcs
kube services
