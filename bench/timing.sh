# Theater: the timing helpers of the benchmark scripts (sourced, not run).
#   now            the wall clock, in seconds with nanoseconds
#   elapsed T0 T1  T1 - T0, in seconds
#   median         the median of the numbers on stdin, one per line
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
median() {
  sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
