// Package tokencleaner deletes bootstrap token Secrets once their
// expiration has passed.
package tokencleaner
