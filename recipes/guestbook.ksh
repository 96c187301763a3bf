# guestbook.ksh: the GuestBook example of Kubernetes v0.3 (examples/guestbook): a redis
# master pod and its service, a redis slave controller (2 replicas) and its service, a
# PHP frontend controller (3 replicas) and its service. The v1beta1 JSON files are in
# recipes/guestbook/.
#
# Variables:
#   TIMEOUT     seconds to wait for the redis master pod to run (default 300)
#   GUESTBOOK   the directory of the JSON files (default: guestbook/ beside this recipe)
# Needs:      the API server answering for the context (kubernetes-fleet.ksh leaves a
#             tunnel), minions registered, a scheduler running
# Leaves:     pod redis-master-2, controllers redisSlaveController and frontendController,
#             services redismaster (port 10000), redisslave (10001) and frontend (9998);
#             the frontend answers on port 8000 of the minions that run it
#
#   kshell run recipes/guestbook.ksh
set TIMEOUT=300
set GUESTBOOK=${RECIPE_DIR}/guestbook
kube create -c ${GUESTBOOK}/redis-master.json pods
kube wait pod redis-master-2 --state Running --timeout ${TIMEOUT}
kube create -c ${GUESTBOOK}/redis-master-service.json services
kube create -c ${GUESTBOOK}/redis-slave-controller.json replicationControllers
kube create -c ${GUESTBOOK}/redis-slave-service.json services
kube create -c ${GUESTBOOK}/frontend-controller.json replicationControllers
kube create -c ${GUESTBOOK}/frontend-service.json services
kube pods
kube rcs
kube services
