export const posts = [
  { slug: 'hello', title: 'Hello', summary: 'The first post.', body: 'Built into an OCI image.' },
  { slug: 'layers', title: 'Layers', summary: 'How images stack.', body: 'Each step adds a layer.' },
  { slug: 'cache', title: 'Cache', summary: 'Why rebuilds are fast.', body: 'Unchanged steps are reused.' },
];
