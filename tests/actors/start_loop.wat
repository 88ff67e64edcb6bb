;; A module whose start function never returns: instantiation must be bounded
;; (engine link_test.cc, InstantiationIsBoundedByTheStartTimeout).
(module
  (func $spin (loop $again (br $again)))
  (start $spin))
