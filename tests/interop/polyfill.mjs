// Promise.withResolvers (Node 22) for the Node 20 Debian ships, which
// js-libp2p 3 expects.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((yes, no) => { resolve = yes; reject = no })
    return { promise, resolve, reject }
  }
}
