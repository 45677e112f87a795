#!/usr/bin/env bash
# Deploy a tagged build to the app servers: upload, switch the symlink, restart, health-check.
set -euo pipefail

APP=storefront
RELEASES_DIR=/srv/$APP/releases
KEEP=5

usage() {
  echo "usage: $0 <tag> [staging|production]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
TAG=$1
TARGET_ENV=${2:-staging}

case $TARGET_ENV in
  staging) HOSTS="stg-app-1 stg-app-2" ;;
  production)
      HOSTS="app-1 app-2 app-3 app-4"
      ;;
  *) usage ;;
esac

ARTIFACT=dist/$APP-$TAG.tar.gz
[ -f $ARTIFACT ] || { echo "missing $ARTIFACT, run make dist first" >&2; exit 1; }

echo "deploying $TAG to $TARGET_ENV ($HOSTS) as $DEPLOY_USER"

for host in $HOSTS; do
  dest=$RELEASES_DIR/$TAG
  ssh $DEPLOY_USER@$host "mkdir -p $dest"
  scp $ARTIFACT $DEPLOY_USER@$host:$dest/
  ssh $DEPLOY_USER@$host "cd $dest && tar xzf $APP-$TAG.tar.gz && rm $APP-$TAG.tar.gz"
  ssh $DEPLOY_USER@$host "ln -sfn $dest /srv/$APP/current && sudo systemctl restart $APP"
  for i in $(seq 1 10); do
    if ssh $DEPLOY_USER@$host "curl -fsS localhost:8080/healthz" >/dev/null; then
      echo "$host healthy"
      break
    fi
    sleep 3
  done
  ssh $DEPLOY_USER@$host "ls -1dt $RELEASES_DIR/* | tail -n +$((KEEP + 1)) | xargs rm -rf"
done

echo "done: $TAG on $TARGET_ENV"
