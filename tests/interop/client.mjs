// A stock js-libp2p client (libp2p 3) against a running Vouch node, as an
// implementation that is not Vouch's would meet it: noise, yamux,
// identify, ping, gossipsub on the statements topic, and the back-fill
// protocol (CBOR request and page). Usage: node client.mjs MULTIADDR
// Prints one line per check; exits non-zero on the first that fails.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { encode, decode } from 'cborg'

const TOPIC = 'vouch/statements/1'
const SYNC = '/vouch/sync/1'
const target = multiaddr(process.argv[2])

function fail (what) {
  console.log(`FAIL ${what}`)
  process.exit(1)
}
function within (ms, promise, what) {
  return Promise.race([promise, new Promise((_resolve, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))])
}

const client = await createLibp2p({
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', allowPublishToZeroTopicPeers: true })
  }
})

try {
  const connection = await within(10000, client.dial(target), 'dial')
  console.log(`ok noise+yamux: connected to ${connection.remotePeer}`)
  const rtt = await within(10000, client.services.ping.ping(target), 'ping')
  console.log(`ok ping: ${rtt} ms`)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const peer = await client.peerStore.get(connection.remotePeer)
  const protocols = peer.protocols
  for (const wanted of [SYNC, '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0']) {
    if (!protocols.includes(wanted)) fail(`identify: the node does not list ${wanted} (${protocols.join(' ')})`)
  }
  console.log(`ok identify: ${protocols.length} protocols, ${SYNC} among them`)

  // Gossip: subscribe, say so, and wait for the node's next statement.
  client.services.pubsub.subscribe(TOPIC)
  const received = new Promise((resolve) => {
    client.services.pubsub.addEventListener('message', (event) => {
      if (event.detail.topic === TOPIC) resolve(event.detail.data)
    })
  })
  await within(15000, (async () => {
    while (!client.services.pubsub.getSubscribers(TOPIC).some((p) => p.equals(connection.remotePeer))) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })(), 'gossipsub: the node joins the topic')
  console.log('READY')
  // The test makes a statement on the node once it reads READY.
  const statement = await within(20000, received, 'gossipsub: a statement from the node')
  console.log(`ok gossipsub: received a ${statement.length}-byte statement`)

  // Back-fill: ask for the node's statements from the start.
  const stream = await client.dialProtocol(target, SYNC)
  stream.send(encode({ since: 0, limit: 16 }))
  await stream.close()
  const chunks = []
  for await (const chunk of stream) chunks.push(chunk.subarray ? chunk.subarray() : chunk)
  const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c)))
  const page = decode(bytes)
  if (!Array.isArray(page.statements) || page.statements.length === 0) fail(`back-fill: an empty page ${JSON.stringify(Object.keys(page))}`)
  if (!page.statements.some((s) => Buffer.from(s).equals(Buffer.from(statement)))) fail('back-fill: the gossiped statement is not in the page')
  console.log(`ok back-fill: a page of ${page.statements.length} statements, the gossiped one among them, next ${page.next}`)
} catch (error) {
  fail(error.message)
} finally {
  await client.stop()
}
process.exit(0)
