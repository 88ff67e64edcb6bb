;; A component that imports a WASI interface the wasi-preview2 handler implements
;; (wasi:random/random) and one it does not (wasi:sockets/instance-network): `theater validate`
;; must name the second import and only it (src/cli/cli_tools_e2e_test.cc). It has no core
;; module: validate reads imports, and never instantiates.
(component
  (import "wasi:random/random@0.2.0" (instance
    (export "get-random-u64" (func (result u64)))))
  (import "wasi:sockets/instance-network@0.2.0" (instance
    (export "network" (type (sub resource)))
    (export "instance-network" (func (result (own 0))))))
)
