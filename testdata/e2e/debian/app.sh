#!/bin/bash
cat /srv/app/greeting.txt
echo "user=$(id -un) home=$HOME"
tree -a --noreport --charset=ascii /srv/app/data
