/** @type {import('next').NextConfig} */
module.exports = {
  // A self-contained server (.next/standalone) with only the files it needs: what the image copies.
  output: 'standalone',
};
