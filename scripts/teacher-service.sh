# Sourced by the demos: start_teacher_service LOG ARGS... starts the built teacher service on a
# free loopback port (Kestrel picks it; it is read from the log) with the given configuration
# switches, sets $service (its pid) and $address (http://127.0.0.1:PORT), and stops it on exit.
teacher_dll=services/Teacher/bin/Release/net10.0/TeacherStudent.Teacher.dll

start_teacher_service() {
  local log=$1; shift
  dotnet "$teacher_dll" --urls http://127.0.0.1:0 "$@" > "$log" 2>&1 &
  service=$!
  trap 'kill $service 2>/dev/null || true' EXIT
  address=""
  for _ in $(seq 1 300); do
    address=$(grep -o 'Now listening on: http://127.0.0.1:[0-9]*' "$log" | head -n 1 | sed 's/Now listening on: //' || true)
    [ -n "$address" ] && return 0
    kill -0 $service 2>/dev/null || { echo "error: the teacher service did not start:"; cat "$log"; exit 1; }
    sleep 0.2
  done
  echo "error: the teacher service did not say where it listens"; exit 1
}

# Stops the service started by start_teacher_service.
stop_teacher_service() {
  kill $service 2>/dev/null || true
  wait $service 2>/dev/null || true
  trap - EXIT
}
